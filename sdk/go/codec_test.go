package resonate_test

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"testing"

	resonate "github.com/resonate-mesh/mesh/sdk/go"
)

// The bytes the TypeScript codec (sdk/src/codec.ts) writes for these values.
func TestEncodeWritesWhatTheTypeScriptCodecWrites(t *testing.T) {
	big63, _ := new(big.Int).SetString("9223372036854775807", 10)
	cases := []struct {
		name  string
		value any
		json  string
	}{
		{"an invocation", map[string]any{"func": "add", "args": []any{1, 2}, "version": 1}, `{"args":[1,2],"func":"add","version":1}`},
		{"unicode text, unescaped", "héllo <wörld> 日本 🎉", `"héllo <wörld> 日本 🎉"`},
		{"null", nil, `null`},
		{"the largest safe integer as a number", int64(1<<53 - 1), `9007199254740991`},
		{"an integer beyond 2^53 as a bigint", int64(1 << 53), `{"__type":"bigint","value":"9007199254740992"}`},
		{"a big.Int as a bigint", big63, `{"__type":"bigint","value":"9223372036854775807"}`},
		{"a uint64 beyond int64", uint64(math.MaxUint64), `{"__type":"bigint","value":"18446744073709551615"}`},
		{"NaN", math.NaN(), `{"__type":"number","value":"NaN"}`},
		{"infinity", math.Inf(1), `"__INF__"`},
		{"bytes", []byte{1, 2, 255}, `{"__type":"bytes","value":"AQL/"}`},
		{"an error with a name", resonate.NewError("InventoryError", "out of stock"), `{"__type":"error","message":"out of stock","name":"InventoryError","stack":null}`},
		{"a plain Go error", errors.New("boom"), `{"__type":"error","message":"boom","name":"Error","stack":null}`},
		{"an object with its own __type key", map[string]any{"__type": "x"}, `{"__type":"object","value":{"__type":"x"}}`},
		{"a struct with a big field", struct {
			N int64 `json:"n"`
		}{1 << 60}, `{"n":{"__type":"bigint","value":"1152921504606846976"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := resonate.Encode(c.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.json {
				t.Fatalf("Encode(%v) = %s, want %s", c.value, got, c.json)
			}
		})
	}
}

// What the TypeScript codec writes decodes to the documented Go values.
func TestDecodeReadsWhatTheTypeScriptCodecWrites(t *testing.T) {
	big63, _ := new(big.Int).SetString("9223372036854775807", 10)
	cases := []struct {
		name string
		json string
		want any
	}{
		{"an integer", `42`, int64(42)},
		{"a fraction", `1.5`, 1.5},
		{"a bigint", `{"__type":"bigint","value":"9223372036854775807"}`, big63},
		{"undefined", `{"__type":"undefined"}`, nil},
		{"-Infinity", `"__NEG_INF__"`, math.Inf(-1)},
		{"nested objects and arrays", `{"a":[1,{"b":null}],"c":"ü"}`, map[string]any{"a": []any{int64(1), map[string]any{"b": nil}}, "c": "ü"}},
		{"a wrapped object", `{"__type":"object","value":{"__type":"x"}}`, map[string]any{"__type": "x"}},
		{"a TypeScript TypeError", `{"__type":"error","name":"TypeError","message":"bad","stack":"TypeError: bad\n    at f"}`,
			&resonate.Error{Name: "TypeError", Message: "bad", Stack: "TypeError: bad\n    at f"}},
		{"a set", `{"__type":"set","values":[1,2]}`, []any{int64(1), int64(2)}},
		{"a map", `{"__type":"map","entries":[[1,"one"]]}`, []resonate.MapEntry{{Key: int64(1), Value: "one"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := resonate.Decode([]byte(c.json))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Decode(%s) = %#v, want %#v", c.json, got, c.want)
			}
		})
	}
}

func TestEmptyDataDecodesToNil(t *testing.T) {
	got, err := resonate.Decode(nil)
	if err != nil || got != nil {
		t.Fatalf("Decode(nil) = %v, %v; want nil, nil", got, err)
	}
}
