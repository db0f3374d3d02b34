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
	return write("ca.pem", "CERTIFICATE", caDER), write("node.pem", "CERTIFICATE", nodeDER), write("node.key", "PRIVATE KEY", keyDER)
}

// startTLSNode starts `resonate dev` serving TLS and waits until GET https://.../ready answers 200.
func startTLSNode(t *testing.T, caFile, certFile, keyFile string) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot()
	cmd := exec.Command("node", filepath.Join(root, "node/bin/resonate.js"), "dev", "--port", fmt.Sprint(port), "--tls-cert", certFile, "--tls-key", keyFile)
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
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 5 * time.Second}
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
