package resonate

// Values on the wire, exactly as the TypeScript SDK encodes them
// (sdk/src/codec.ts): Value.data is the UTF-8 JSON of the value, and what
// JSON cannot carry travels as a tagged object {"__type": ...}:
//
//	Go value                         JSON
//	nil                              null
//	int, int64, uint64 within ±(2^53-1)  a number
//	integers beyond that, *big.Int   {"__type":"bigint","value":"<digits>"}
//	NaN, -0                          {"__type":"number","value":"NaN"|"-0"}
//	+Inf, -Inf                       "__INF__", "__NEG_INF__"
//	[]byte                           {"__type":"bytes","value":"<base64>"}
//	time.Time                        {"__type":"date","value":"<ISO 8601>"}
//	error                            {"__type":"error","name":..,"message":..,"stack":null}
//	a map with its own "__type" key  {"__type":"object","value":{...}}
//
// Decoding gives the reverse: JSON integers are int64 (float64 when they do
// not fit), other numbers float64, objects map[string]any, arrays []any,
// bigints *big.Int, errors *Error, JavaScript Maps []MapEntry, Sets []any.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// maxSafe is 2^53 - 1, the largest integer a JavaScript number holds exactly.
const maxSafe = 1<<53 - 1

// Error is a rejected value as the TypeScript codec encodes errors: a name
// ("Error", "TypeError", or any other), a message and, when the sender had
// them, a stack, a cause and own properties. A handler returning an *Error
// rejects with exactly that name; a TypeScript `catch` sees an Error with it.
type Error struct {
	Name    string
	Message string
	Stack   string
	Cause   any
	Props   map[string]any
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Name + ": " + e.Message
}

// NewError is an error with a name other languages see (TypeScript's err.name).
func NewError(name, message string) *Error { return &Error{Name: name, Message: message} }

// MapEntry is one entry of a JavaScript Map, whose keys need not be strings.
type MapEntry struct {
	Key   any
	Value any
}

// Encode is a value as Value.data: the bytes of its JSON (not yet base64,
// which protobuf's bytes field needs none of).
func Encode(v any) ([]byte, error) {
	j, err := toJSON(reflect.ValueOf(v), "value")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Decode is the value that Value.data holds; empty data is nil (JavaScript's undefined).
func Decode(data []byte) (any, error) {
	if len(data) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("the value is not JSON: %w", err)
	}
	return fromJSON(raw)
}

var (
	errorType   = reflect.TypeFor[error]()
	bigIntType  = reflect.TypeFor[*big.Int]()
	timeType    = reflect.TypeFor[time.Time]()
	rawJSONType = reflect.TypeFor[json.RawMessage]()
)

func toJSON(v reflect.Value, path string) (any, error) {
	if !v.IsValid() {
		return nil, nil
	}
	if v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, nil
		}
	}
	t := v.Type()
	switch {
	case t == bigIntType:
		return map[string]any{"__type": "bigint", "value": v.Interface().(*big.Int).String()}, nil
	case t == timeType:
		return map[string]any{"__type": "date", "value": v.Interface().(time.Time).UTC().Format("2006-01-02T15:04:05.000Z")}, nil
	case t == rawJSONType:
		return v.Interface(), nil
	case t.Implements(errorType):
		return errorJSON(v.Interface().(error), path)
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		return toJSON(v.Elem(), path)
	case reflect.Bool, reflect.String:
		return v.Interface(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return integer(new(big.Int).SetInt64(v.Int())), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return integer(new(big.Int).SetUint64(v.Uint())), nil
	case reflect.Float32, reflect.Float64:
		return float(v.Float()), nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"__type": "bytes", "value": base64.StdEncoding.EncodeToString(v.Bytes())}, nil
		}
		if v.IsNil() {
			return nil, nil
		}
		fallthrough
	case reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			j, err := toJSON(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = j
		}
		return out, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s cannot be encoded: a map needs string keys, got %s", path, t.Key())
		}
		if v.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			k := it.Key().String()
			j, err := toJSON(it.Value(), path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = j
		}
		if _, tagged := out["__type"]; tagged {
			return map[string]any{"__type": "object", "value": out}, nil
		}
		return out, nil
	case reflect.Struct:
		// Structs follow their json tags: through encoding/json, then as the generic value.
		data, err := json.Marshal(v.Interface())
		if err != nil {
			return nil, fmt.Errorf("%s cannot be encoded: %w", path, err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var generic any
		if err := dec.Decode(&generic); err != nil {
			return nil, err
		}
		return numbersToJSON(generic), nil
	}
	return nil, fmt.Errorf("%s cannot be encoded: a %s has no JSON form", path, t)
}

// numbersToJSON turns the json.Numbers of a generic value into what toJSON writes for them.
func numbersToJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, ok := new(big.Int).SetString(x.String(), 10); ok {
			return integer(n)
		}
		return x
	case []any:
		for i := range x {
			x[i] = numbersToJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbersToJSON(x[k])
		}
		if _, tagged := x["__type"]; tagged {
			return map[string]any{"__type": "object", "value": x}
		}
	}
	return v
}

func integer(n *big.Int) any {
	if n.IsInt64() && n.Int64() >= -maxSafe && n.Int64() <= maxSafe {
		return json.Number(n.String())
	}
	return map[string]any{"__type": "bigint", "value": n.String()}
}

func float(f float64) any {
	switch {
	case math.IsNaN(f):
		return map[string]any{"__type": "number", "value": "NaN"}
	case math.IsInf(f, 1):
		return "__INF__"
	case math.IsInf(f, -1):
		return "__NEG_INF__"
	case f == 0 && math.Signbit(f):
		return map[string]any{"__type": "number", "value": "-0"}
	}
	return f
}

func errorJSON(err error, path string) (any, error) {
	out := map[string]any{"__type": "error", "name": "Error", "message": err.Error(), "stack": nil}
	var e *Error
	if errors.As(err, &e) {
		out["name"], out["message"] = e.Name, e.Message
		if e.Stack != "" {
			out["stack"] = e.Stack
		}
		if e.Cause != nil {
			j, err := toJSON(reflect.ValueOf(e.Cause), path+".cause")
			if err != nil {
				return nil, err
			}
			out["cause"] = j
		}
		if len(e.Props) > 0 {
			j, err := toJSON(reflect.ValueOf(e.Props), path+".props")
			if err != nil {
				return nil, err
			}
			out["props"] = j
		}
	} else if named, ok := err.(interface{ ErrorName() string }); ok {
		out["name"] = named.ErrorName()
	}
	return out, nil
}

func fromJSON(v any) (any, error) {
	switch x := v.(type) {
	case string:
		switch x {
		case "__INF__":
			return math.Inf(1), nil
		case "__NEG_INF__":
			return math.Inf(-1), nil
		}
		return x, nil
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
		}
		return x.Float64()
	case []any:
		out := make([]any, len(x))
		for i := range x {
			d, err := fromJSON(x[i])
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
		return out, nil
	case map[string]any:
		return taggedFromJSON(x)
	}
	return v, nil // bool, nil
}

func taggedFromJSON(x map[string]any) (any, error) {
	tag, _ := x["__type"].(string)
	value := x["value"]
	switch tag {
	case "undefined":
		return nil, nil
	case "number":
		if value == "-0" {
			return math.Copysign(0, -1), nil
		}
		return math.NaN(), nil
	case "bigint":
		s, _ := value.(string)
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("a bigint value must be decimal digits, got %q", s)
		}
		return n, nil
	case "date":
		s, ok := value.(string)
		if !ok {
			return time.Time{}, nil // an invalid Date
		}
		return time.Parse(time.RFC3339Nano, s)
	case "bytes":
		s, _ := value.(string)
		return base64.StdEncoding.DecodeString(s)
	case "map":
		entries, _ := x["entries"].([]any)
		out := make([]MapEntry, 0, len(entries))
		for _, e := range entries {
			pair, _ := e.([]any)
			if len(pair) != 2 {
				return nil, fmt.Errorf("a map entry must be [key, value]")
			}
			k, err := fromJSON(pair[0])
			if err != nil {
				return nil, err
			}
			val, err := fromJSON(pair[1])
			if err != nil {
				return nil, err
			}
			out = append(out, MapEntry{Key: k, Value: val})
		}
		return out, nil
	case "set":
		return fromJSON(x["values"])
	case "error", "aggregate_error":
		return errorFromJSON(x)
	case "object":
		inner, _ := value.(map[string]any)
		return plainFromJSON(inner)
	}
	return plainFromJSON(x)
}

func plainFromJSON(x map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(x))
	for k, v := range x {
		d, err := fromJSON(v)
		if err != nil {
			return nil, err
		}
		out[k] = d
	}
	return out, nil
}

func errorFromJSON(x map[string]any) (*Error, error) {
	e := &Error{Name: "Error"}
	if name, ok := x["name"].(string); ok {
		e.Name = name
	}
	e.Message, _ = x["message"].(string)
	e.Stack, _ = x["stack"].(string)
	if c, ok := x["cause"]; ok {
		cause, err := fromJSON(c)
		if err != nil {
			return nil, err
		}
		e.Cause = cause
	}
	if p, ok := x["props"].(map[string]any); ok {
		props, err := plainFromJSON(p)
		if err != nil {
			return nil, err
		}
		e.Props = props
	}
	return e, nil
}
