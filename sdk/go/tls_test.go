package resonate_test

// TLS: a node started with --tls-cert/--tls-key (certificates made here with
// crypto/x509), reached with Dial("https://...", WithCAFile(ca)); without the
// CA the handshake fails.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	resonate "github.com/resonate-mesh/mesh/sdk/go"
	meshv1 "github.com/resonate-mesh/mesh/sdk/go/gen/resonate/mesh/v1"
)

// writeCerts writes ca.pem, node.pem and node.key (for 127.0.0.1 and localhost) into dir.
func writeCerts(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	write := func(name, kind string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "go test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	nodeKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	nodeTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	nodeDER, err := x509.CreateCertificate(rand.Reader, nodeTemplate, caTemplate, &nodeKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(nodeKey)
	caKeyDER, _ := x509.MarshalPKCS8PrivateKey(caKey)
	write("ca.key", "PRIVATE KEY", caKeyDER)
	return write("ca.pem", "CERTIFICATE", caDER), write("node.pem", "CERTIFICATE", nodeDER), write("node.key", "PRIVATE KEY", keyDER)
}

// writeClientCert writes worker.pem and worker.key, a client certificate signed by dir's ca.pem/ca.key.
func writeClientCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(pair.Certificate[0])
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	template := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "go worker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, pair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "worker.pem"), filepath.Join(dir, "worker.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// startTLSNode starts `resonate dev` serving TLS and waits until GET https://.../ready answers 200.
// With a client certificate (clientCert, clientKey), the node requires one signed by caFile (--tls-client-ca).
func startTLSNode(t *testing.T, caFile, certFile, keyFile string, clientCert ...string) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot()
	args := []string{filepath.Join(root, "node/bin/resonate.js"), "dev", "--port", fmt.Sprint(port), "--tls-cert", certFile, "--tls-key", keyFile}
	if len(clientCert) == 2 {
		args = append(args, "--tls-client-ca", caFile)
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = root
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &nodeProc{cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port), output: out}
	t.Cleanup(n.stop)
	pem, _ := os.ReadFile(caFile)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	probe := &tls.Config{RootCAs: roots}
	if len(clientCert) == 2 {
		pair, err := tls.LoadX509KeyPair(clientCert[0], clientCert[1])
		if err != nil {
			t.Fatal(err)
		}
		probe.Certificates = []tls.Certificate{pair}
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: probe}, Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := client.Get("https://" + n.addr + "/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return "https://" + n.addr
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the TLS node did not get ready on %s within 60 s:\n%s", n.addr, out.String())
	return ""
}

func TestDialHTTPSWithCAFileReachesATLSNode(t *testing.T) {
	caFile, certFile, keyFile := writeCerts(t, t.TempDir())
	url := startTLSNode(t, caFile, certFile, keyFile)
	client, err := resonate.Dial(url, resonate.WithCAFile(caFile))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := testContext(t, 30*time.Second)
	_, err = client.Promises.Get(ctx, &meshv1.PromiseServiceGetRequest{Id: "tls-missing"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("want NotFound from the node over TLS, got %v", err)
	}

	untrusting, err := resonate.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer untrusting.Close()
	_, err = untrusting.Promises.Get(ctx, &meshv1.PromiseServiceGetRequest{Id: "tls-missing"})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("want Unavailable naming the certificate without the CA, got %v", err)
	}
}

func TestWithClientCertReachesANodeRequiringClientCertificates(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeCerts(t, dir)
	workerCert, workerKey := writeClientCert(t, dir)
	url := startTLSNode(t, caFile, certFile, keyFile, workerCert, workerKey)
	ctx := testContext(t, 30*time.Second)

	client, err := resonate.Dial(url, resonate.WithCAFile(caFile), resonate.WithClientCert(workerCert, workerKey))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_, err = client.Promises.Get(ctx, &meshv1.PromiseServiceGetRequest{Id: "mtls-missing"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("want NotFound from the node over mTLS, got %v", err)
	}

	anonymous, err := resonate.Dial(url, resonate.WithCAFile(caFile), resonate.WithUnavailableRetry(0))
	if err != nil {
		t.Fatal(err)
	}
	defer anonymous.Close()
	_, err = anonymous.Promises.Get(ctx, &meshv1.PromiseServiceGetRequest{Id: "mtls-missing"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("want Unavailable without a client certificate, got %v", err)
	}
}

func TestWithClientCertFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeCerts(t, dir)
	workerCert, workerKey := writeClientCert(t, dir)
	url := startTLSNode(t, caFile, certFile, keyFile, workerCert, workerKey)
	t.Setenv("RESONATE_CA_FILE", caFile)
	t.Setenv("RESONATE_CERT_FILE", workerCert)
	t.Setenv("RESONATE_KEY_FILE", workerKey)
	client, err := resonate.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_, err = client.Promises.Get(testContext(t, 30*time.Second), &meshv1.PromiseServiceGetRequest{Id: "mtls-env-missing"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("want NotFound from the node over mTLS, got %v", err)
	}
}

func TestAClientCertWithoutItsKeyIsRefusedByDial(t *testing.T) {
	_, err := resonate.Dial("https://127.0.0.1:1", resonate.WithClientCert("/nonexistent.pem", ""))
	if err == nil || !strings.Contains(err.Error(), "needs both its certificate and its key file") {
		t.Fatalf("want a refusal naming the missing key file, got %v", err)
	}
}

func TestAClientCertWithAPlaintextAddressIsRefusedByDial(t *testing.T) {
	_, err := resonate.Dial("http://127.0.0.1:1", resonate.WithClientCert("/w.pem", "/w.key"))
	if err == nil || !strings.Contains(err.Error(), "needs an https:// address") {
		t.Fatalf("want a refusal naming https://, got %v", err)
	}
}
