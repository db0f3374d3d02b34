// The Go worker of the polyglot example: joins group "go-workers" and serves
// "fingerprint", which the TypeScript workflow calls by name.
//
//	go run . -url 127.0.0.1:8001
//
// It prints "[go worker] <pid> ready in group "go-workers"" each time it has joined the group.
package main

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	resonate "github.com/resonate-mesh/mesh/sdk/go"
)

const group = "go-workers"

// fingerprint is a leaf function: the size of a text in bytes and its 64-bit
// FNV-1a hash. The hash is a uint64, usually beyond 2^53, so it travels as the
// codec's bigint and arrives in TypeScript as a bigint and in Python as an int.
func fingerprint(ctx context.Context, call *resonate.Call) (any, error) {
	text, ok := call.Args[0].(string)
	if !ok {
		return nil, resonate.NewError("TypeError", fmt.Sprintf("fingerprint needs a string, got %T", call.Args[0]))
	}
	h := fnv.New64a()
	h.Write([]byte(text))
	fmt.Printf("[go worker] fingerprint of %d bytes\n", len(text))
	return map[string]any{"bytes": len(text), "fnv1a64": h.Sum64()}, nil
}

func main() {
	url := flag.String("url", envOr("RESONATE_URL", "127.0.0.1:8001"), "the node's address (host:port, or http://host:port)")
	pid := flag.String("pid", fmt.Sprintf("go-%d", os.Getpid()), "this process's id in the group")
	flag.Parse()

	worker, err := resonate.NewWorker(*url, group, *pid)
	if err != nil {
		log.Fatal(err)
	}
	worker.Grace = 2 * time.Second
	worker.Register("fingerprint", fingerprint)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		for range worker.Connected() {
			fmt.Printf("[go worker] %s ready in group %q\n", *pid, group)
		}
	}()
	if err := worker.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
