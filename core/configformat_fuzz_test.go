package core

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseConfigFile(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Base(name), data)
	}
	f.Add("x.json", []byte(`[{"kind":"menu","name":"m","label":"M"}]`))
	f.Add("x.yaml", []byte("a: &x [1, *x]\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		docs, err := ParseConfigFile(name, data)
		if err != nil {
			if ErrorCode(err) != EInvalid && ErrorCode(err) != ETooLarge {
				t.Fatalf("error code %q: %v", ErrorCode(err), err)
			}
			return
		}
		// Whatever parses must export and re-import to the same body.
		for _, d := range docs {
			y, err := MarshalConfigYAML(d)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseConfigFile("x.yaml", y)
			if err != nil {
				t.Fatalf("re-import of %s failed: %v\n%s", d.Body, err, y)
			}
			if !bytes.Equal(back[0].Body, d.Body) {
				t.Fatalf("round trip changed %s to %s", d.Body, back[0].Body)
			}
		}
	})
}

func FuzzValidateFields(f *testing.F) {
	typ, err := ParseItemType(json.RawMessage(`{"name":"t","label":"T","fields":[
		{"name":"s","type":"text","max_length":10},
		{"name":"l","type":"long_text"},
		{"name":"i","type":"integer","min":0},
		{"name":"d","type":"decimal","scale":2},
		{"name":"b","type":"boolean"},
		{"name":"dt","type":"datetime"},
		{"name":"e","type":"email"},
		{"name":"k","type":"link","cardinality":"unlimited"},
		{"name":"r","type":"item_ref","cardinality":3},
		{"name":"img","type":"image"}]}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"s":"x","i":1,"d":"1.5","k":[{"url":"/x"}],"r":[{"id":"01900000-0000-7000-8000-000000000001"}]}`))
	f.Add([]byte(`{"img":{"id":"01900000-0000-7000-8000-000000000001","alt":"a"},"dt":"2024-01-01T00:00:00Z","e":"a@b.co"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := typ.ValidateFields(context.Background(), data, nil)
		if err != nil {
			if ErrorCode(err) != EInvalid || len(ErrorFields(err)) == 0 {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		// Normalized output validates to itself.
		again, err := typ.ValidateFields(context.Background(), out, nil)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("normalized %s is not stable: %s, %v", out, again, err)
		}
	})
}

// FuzzDecodeJSONTree checks the strict decoder against encoding/json: the
// same inputs are valid, and valid ones decode to the same values.
func FuzzDecodeJSONTree(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e3,true,null,"x\u00e9\ud83d\ude00"]}`, `"\ud800"`, `[]`, `{"a":1,"a":2}`, ` 0 `, `-`, `01`, `"\x"`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ferrs, err := decodeJSONTree(data, "", nil)
		if json.Valid(data) != (err == nil) {
			t.Fatalf("json.Valid=%v, decodeJSONTree err=%v", json.Valid(data), err)
		}
		if err != nil || len(ferrs) > 0 {
			return
		}
		want, err := decodeJSONValue(data)
		if err != nil {
			t.Fatal(err)
		}
		if got, w := canonicalJSON(v), canonicalJSON(want); !bytes.Equal(got, w) {
			t.Fatalf("decoded %s, encoding/json %s", got, w)
		}
	})
}
