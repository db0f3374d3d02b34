// A Go worker of a group, serving functions that TypeScript workflows (or any
// client) call by name:
//
//	go run ./examples/worker -url 127.0.0.1:8001 -group go-workers
//
// It prints "ready <pid>" each time it has joined the group.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	resonate "github.com/resonate-mesh/mesh/sdk/go"
)

func main() {
	url := flag.String("url", envOr("RESONATE_URL", "127.0.0.1:8001"), "the node's address")
	group := flag.String("group", "go-workers", "the group to join")
	pid := flag.String("pid", fmt.Sprintf("go-%d", os.Getpid()), "this process's id in the group")
	flag.Parse()

	worker, err := resonate.NewWorker(*url, *group, *pid)
	if err != nil {
		log.Fatal(err)
	}
	worker.Grace = 2 * time.Second

	// The name other languages call; the arguments arrive decoded (see resonate.Decode).
	worker.Register("greet", func(ctx context.Context, call *resonate.Call) (any, error) {
		name, _ := call.Args[0].(string)
		return "hello, " + name + ", from Go", nil
	})
	worker.Register("echo", func(ctx context.Context, call *resonate.Call) (any, error) {
		return call.Args, nil
	})
	worker.Register("reserve", func(ctx context.Context, call *resonate.Call) (any, error) {
		item, _ := call.Args[0].(string)
		return nil, resonate.NewError("InventoryError", "out of stock: "+item)
	})
	worker.Register("shout", func(ctx context.Context, call *resonate.Call) (any, error) {
		text, _ := call.Args[0].(string)
		return strings.ToUpper(text), nil
	})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		for range worker.Connected() {
			fmt.Printf("ready %s\n", *pid)
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
