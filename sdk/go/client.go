// Package resonate is a Go leaf worker and client for a resonate-mesh node,
// over the gRPC API generated from proto/ (package gen/resonate/mesh/v1).
//
// A Worker joins a group, runs the functions registered on it by name and
// settles their promises; a Client starts a function by name on a group and
// awaits its result. Both speak the TypeScript SDK's invocation and value
// encoding, so a TypeScript workflow calls a Go function with ctx.rpc and Go
// programs call TypeScript functions.
package resonate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	meshv1 "github.com/resonate-mesh/mesh/sdk/go/gen/resonate/mesh/v1"
)

// Never is the timeoutAt of a promise that never times out: the int64
// maximum, which the node accepts and answers with.
const Never int64 = math.MaxInt64

// ErrorDomain is the google.rpc.ErrorInfo domain of the node's errors.
const ErrorDomain = "resonate.mesh"

// Client calls functions on a node and awaits their results.
type Client struct {
	conn     *grpc.ClientConn
	Promises meshv1.PromiseServiceClient
	Tasks    meshv1.TaskServiceClient
	retry    *unavailableRetry
	logger   *slog.Logger
}

// DialOption configures Dial.
type DialOption func(*dialConfig)

type dialConfig struct {
	caFile           string
	caFileGiven      bool // by WithCAFile rather than RESONATE_CA_FILE
	certFile         string
	keyFile          string
	certGiven        bool // by WithClientCert rather than RESONATE_CERT_FILE/RESONATE_KEY_FILE
	unavailableRetry time.Duration
	logger           *slog.Logger
}

// WithCAFile trusts the CA in this PEM file for an https:// node instead of
// the system roots (RESONATE_CA_FILE when not given).
func WithCAFile(path string) DialOption {
	return func(c *dialConfig) { c.caFile, c.caFileGiven = path, true }
}

// WithClientCert presents this PEM certificate and its private key to a node
// that requires client certificates (started with --tls-client-ca);
// RESONATE_CERT_FILE and RESONATE_KEY_FILE when not given.
func WithClientCert(certFile, keyFile string) DialOption {
	return func(c *dialConfig) { c.certFile, c.keyFile, c.certGiven = certFile, keyFile, true }
}

// WithUnavailableRetry is how long each unary call (Start, Fulfill, Acquire,
// calls of one's own through Promises and Tasks, ...) is retried, with
// jittered backoff, while the node is unreachable or answers UNAVAILABLE;
// then the call fails with the last error. DefaultUnavailableRetry (30 s)
// when not given; zero or less does not retry.
func WithUnavailableRetry(d time.Duration) DialOption {
	return func(c *dialConfig) { c.unavailableRetry = d }
}

// WithLogger is the client's logger (one warning per outage); slog.Default()
// when not given. A Worker logs to its Logger field instead.
func WithLogger(logger *slog.Logger) DialOption {
	return func(c *dialConfig) { c.logger = logger }
}

// Dial connects to a node at "host:port" (an http:// prefix is accepted;
// https:// or grpcs:// connects with TLS). The connection is made lazily and
// re-made after failures.
func Dial(address string, opts ...DialOption) (*Client, error) {
	config := dialConfig{
		caFile:           os.Getenv("RESONATE_CA_FILE"),
		certFile:         os.Getenv("RESONATE_CERT_FILE"),
		keyFile:          os.Getenv("RESONATE_KEY_FILE"),
		unavailableRetry: DefaultUnavailableRetry,
	}
	for _, opt := range opts {
		opt(&config)
	}
	creds := insecure.NewCredentials()
	if IsSecure(address) {
		var err error
		if creds, err = tlsCredentials(config); err != nil {
			return nil, err
		}
	} else if config.caFile != "" && config.caFileGiven {
		return nil, fmt.Errorf("a CA file (%s) needs an https:// address, not %q", config.caFile, address)
	} else if config.certGiven {
		return nil, fmt.Errorf("a client certificate (%s) needs an https:// address, not %q", config.certFile, address)
	}
	c := &Client{logger: config.logger}
	c.retry = &unavailableRetry{window: config.unavailableRetry, logger: c.log}
	conn, err := grpc.NewClient(Target(address), grpc.WithTransportCredentials(creds),
		grpc.WithChainUnaryInterceptor(c.retry.intercept))
	if err != nil {
		return nil, err
	}
	c.conn, c.Promises, c.Tasks = conn, meshv1.NewPromiseServiceClient(conn), meshv1.NewTaskServiceClient(conn)
	return c, nil
}

func (c *Client) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

func tlsCredentials(config dialConfig) (credentials.TransportCredentials, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if config.caFile != "" {
		pem, err := os.ReadFile(config.caFile)
		if err != nil {
			return nil, fmt.Errorf("the CA file %s cannot be used: %w", config.caFile, err)
		}
		tlsConfig.RootCAs = x509.NewCertPool()
		if !tlsConfig.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the CA file %s cannot be used: it holds no PEM certificate", config.caFile)
		}
	}
	if (config.certFile == "") != (config.keyFile == "") {
		return nil, fmt.Errorf("a client certificate needs both its certificate and its key file, got cert %q and key %q", config.certFile, config.keyFile)
	}
	if config.certFile != "" {
		pair, err := tls.LoadX509KeyPair(config.certFile, config.keyFile)
		if err != nil {
			return nil, fmt.Errorf("the client certificate %s (key %s) cannot be used: %w", config.certFile, config.keyFile, err)
		}
		tlsConfig.Certificates = []tls.Certificate{pair}
	}
	return credentials.NewTLS(tlsConfig), nil
}

// IsSecure reports whether the address asks for TLS (https:// or grpcs://).
func IsSecure(address string) bool {
	return strings.HasPrefix(address, "https://") || strings.HasPrefix(address, "grpcs://")
}

// Target is the gRPC target of a node address: host:port without a scheme.
func Target(address string) string {
	for _, scheme := range []string{"http://", "grpc://", "https://", "grpcs://"} {
		address = strings.TrimPrefix(address, scheme)
	}
	return strings.TrimSuffix(address, "/")
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// StartOptions say where and how long a call runs.
type StartOptions struct {
	// Group whose workers run the function: poll://any@Group. Ignored when Target is set.
	Group string
	// Target is the full address (poll://any@group, poll://uni@group/pid).
	Target string
	// Timeout from now; 24 hours when zero. Ignored when TimeoutAt is set.
	Timeout time.Duration
	// TimeoutAt in ms since the epoch; Never for no timeout.
	TimeoutAt int64
	// Version of the registered function; 1 when zero, as the TypeScript SDK sends.
	Version int
	// Tags added to the promise.
	Tags map[string]string
}

// Start creates the promise `id` whose task runs `function(args...)` on a
// worker of the target, as the TypeScript SDK's rpc does. Starting an id
// that exists returns the existing promise (idempotent).
func (c *Client) Start(ctx context.Context, id, function string, args []any, o StartOptions) (*meshv1.Promise, error) {
	target := o.Target
	if target == "" {
		if o.Group == "" {
			return nil, fmt.Errorf("start %q: StartOptions needs a Group or a Target", id)
		}
		target = "poll://any@" + o.Group
	}
	version := o.Version
	if version == 0 {
		version = 1
	}
	if args == nil {
		args = []any{}
	}
	param, err := Encode(map[string]any{"func": function, "args": args, "version": version})
	if err != nil {
		return nil, fmt.Errorf("start %q: %w", id, err)
	}
	timeoutAt := o.TimeoutAt
	if timeoutAt == 0 {
		timeout := o.Timeout
		if timeout == 0 {
			timeout = 24 * time.Hour
		}
		timeoutAt = time.Now().Add(timeout).UnixMilli()
	}
	tags := map[string]string{}
	for k, v := range o.Tags {
		tags[k] = v
	}
	for k, v := range map[string]string{
		"resonate:origin": id, "resonate:branch": id, "resonate:parent": id,
		"resonate:scope": "global", "resonate:target": target,
	} {
		tags[k] = v
	}
	res, err := c.Promises.Create(ctx, &meshv1.PromiseServiceCreateRequest{
		Id: id, TimeoutAt: timeoutAt, Param: &meshv1.Value{Data: param, Headers: TraceContext(ctx)}, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	return res.GetPromise(), nil
}

// Await waits until the promise `id` settles (PromiseService.Watch) and
// returns its value; a rejected promise returns its error (an *Error when
// the rejection carries one), a timed-out or canceled one a *SettledError.
// Waiting survives dropped connections: the watch is opened again.
func (c *Client) Await(ctx context.Context, id string) (any, error) {
	backoff := newBackoff(50*time.Millisecond, 2*time.Second)
	for {
		promise, err := c.watch(ctx, id)
		if err == nil {
			return Outcome(promise)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if code := status.Code(err); code != codesUnavailable {
			return nil, err
		}
		if err := backoff.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// Call starts `function(args...)` as the promise `id` and awaits its result.
func (c *Client) Call(ctx context.Context, id, function string, args []any, o StartOptions) (any, error) {
	if _, err := c.Start(ctx, id, function, args, o); err != nil {
		return nil, err
	}
	return c.Await(ctx, id)
}

func (c *Client) watch(ctx context.Context, id string) (*meshv1.Promise, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Promises.Watch(ctx, &meshv1.PromiseServiceWatchRequest{Id: id})
	if err != nil {
		return nil, err
	}
	for {
		res, err := stream.Recv()
		if err == io.EOF {
			return nil, status.Error(codesUnavailable, "the watch ended before the promise settled")
		}
		if err != nil {
			return nil, err
		}
		if p := res.GetPromise(); p.GetState() != meshv1.PromiseState_PROMISE_STATE_PENDING {
			return p, nil
		}
	}
}

// SettledError is a promise that did not resolve and carries no error value:
// it timed out, was canceled, or was rejected with a value that is not an error.
type SettledError struct {
	ID    string
	State meshv1.PromiseState
	Value any
}

func (e *SettledError) Error() string {
	return fmt.Sprintf("promise %q is %s", e.ID, strings.ToLower(strings.TrimPrefix(e.State.String(), "PROMISE_STATE_")))
}

// Outcome is a settled promise's value, or its error.
func Outcome(p *meshv1.Promise) (any, error) {
	value, err := Decode(p.GetValue().GetData())
	if err != nil {
		return nil, fmt.Errorf("promise %q: %w", p.GetId(), err)
	}
	switch p.GetState() {
	case meshv1.PromiseState_PROMISE_STATE_RESOLVED:
		return value, nil
	case meshv1.PromiseState_PROMISE_STATE_PENDING:
		return nil, fmt.Errorf("promise %q is still pending", p.GetId())
	}
	if e, ok := value.(*Error); ok && p.GetState() == meshv1.PromiseState_PROMISE_STATE_REJECTED {
		return nil, e
	}
	return nil, &SettledError{ID: p.GetId(), State: p.GetState(), Value: value}
}

// ProtocolError is a failed call as the node describes it: the stable code
// (google.rpc.ErrorInfo.reason, e.g. INVALID_ARGUMENT, TASK_VERSION_MISMATCH),
// the field at fault for bad input, and the message.
type ProtocolError struct {
	Code    string
	Field   string
	Message string
	Status  *status.Status
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Message }

// ProtocolErrorOf reads the node's error details from a failed call; false
// when the error did not come from a node (a transport failure, a cancel).
func ProtocolErrorOf(err error) (*ProtocolError, bool) {
	s, ok := status.FromError(err)
	if !ok {
		return nil, false
	}
	for _, d := range s.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == ErrorDomain {
			return &ProtocolError{Code: info.GetReason(), Field: info.GetMetadata()["field"], Message: s.Message(), Status: s}, true
		}
	}
	return nil, false
}
