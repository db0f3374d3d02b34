package resonate_test

import (
	"math"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	resonate "github.com/resonate-mesh/mesh/sdk/go"
	meshv1 "github.com/resonate-mesh/mesh/sdk/go/gen/resonate/mesh/v1"
)

func TestTimeoutAtInt64MaxIsAcceptedAndReadBack(t *testing.T) {
	client := dial(t, node.addr)
	ctx := testContext(t, 30*time.Second)
	id := uniqueID(t)
	created, err := client.Promises.Create(ctx, &meshv1.PromiseServiceCreateRequest{Id: id, TimeoutAt: math.MaxInt64})
	if err != nil {
		t.Fatal(err)
	}
	if got := created.GetPromise().GetTimeoutAt(); got != resonate.Never {
		t.Fatalf("create answered timeoutAt %d, want %d", got, resonate.Never)
	}
	read, err := client.Promises.Get(ctx, &meshv1.PromiseServiceGetRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	if got := read.GetPromise().GetTimeoutAt(); got != math.MaxInt64 {
		t.Fatalf("get answered timeoutAt %d, want %d", got, int64(math.MaxInt64))
	}
}

// Stock grpc-go reads the node's rich status: ErrorInfo and BadRequest.
func TestBadInputCarriesErrorInfoAndBadRequestDetails(t *testing.T) {
	client := dial(t, node.addr)
	_, err := client.Promises.Create(testContext(t, 30*time.Second), &meshv1.PromiseServiceCreateRequest{Id: "", TimeoutAt: 1})
	s, _ := status.FromError(err)
	if s.Code() != codes.InvalidArgument {
		t.Fatalf("got %v, want InvalidArgument", err)
	}
	var info *errdetails.ErrorInfo
	var bad *errdetails.BadRequest
	for _, d := range s.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			bad = d
		default:
			t.Fatalf("unexpected detail %T %v", d, d)
		}
	}
	if info == nil || info.GetReason() != "INVALID_ARGUMENT" || info.GetDomain() != "resonate.mesh" || info.GetMetadata()["field"] != "id" {
		t.Fatalf("ErrorInfo = %v", info)
	}
	if bad == nil || len(bad.GetFieldViolations()) != 1 || bad.GetFieldViolations()[0].GetField() != "id" ||
		bad.GetFieldViolations()[0].GetDescription() != s.Message() {
		t.Fatalf("BadRequest = %v", bad)
	}
}

func TestAConflictCarriesItsStableCode(t *testing.T) {
	client := dial(t, node.addr)
	ctx := testContext(t, 30*time.Second)
	id := uniqueID(t)
	if _, err := client.Promises.Create(ctx, &meshv1.PromiseServiceCreateRequest{
		Id: id, TimeoutAt: resonate.Never, Tags: map[string]string{"resonate:target": "poll://any@nobody-" + id},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := client.Tasks.Acquire(ctx, &meshv1.TaskServiceAcquireRequest{Id: id, Version: 9, Pid: "p", Ttl: 1000})
	perr, ok := resonate.ProtocolErrorOf(err)
	if !ok || perr.Code != "TASK_VERSION_MISMATCH" || perr.Status.Code() != codes.Aborted {
		t.Fatalf("got %v (%v)", perr, err)
	}
}
