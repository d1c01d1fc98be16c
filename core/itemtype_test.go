package core

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func TestParseItemType(t *testing.T) {
	field := func(f string) string {
		return `{"kind":"item_type","name":"t","label":"T","fields":[` + f + `]}`
	}
	tests := []struct {
		name string
		body string
		path string // "" for valid
		want string
	}{
		{"OK", field(`{"name":"a","type":"text"}`), "", ""},
		{"OKWithoutKind", `{"name":"t","label":"T"}`, "", ""},
		{"OKUnlimited", field(`{"name":"a","type":"item_ref","cardinality":"unlimited","target_types":["page"]}`), "", ""},
		{"WrongKind", `{"kind":"menu","name":"t","label":"T"}`, "kind", `must be "item_type"`},
		{"MissingLabel", `{"name":"t"}`, "label", "is required"},
		{"BadTypeName", `{"name":"T-1","label":"T"}`, "name", "does not match"},
		{"UnknownFieldType", field(`{"name":"a","type":"blob"}`), "fields[0].type", "must be one of"},
		{"UnknownOption", field(`{"name":"a","type":"text","colour":"red"}`), "fields[0].colour", "unknown key"},
		{"BadFieldName", field(`{"name":"A b","type":"text"}`), "fields[0].name", "does not match"},
		{"ReservedName", field(`{"name":"status","type":"text"}`), "fields[0].name", `"status" is reserved`},
		{"DuplicateName", field(`{"name":"a","type":"text"},{"name":"a","type":"integer"}`), "fields[1].name", `duplicate field name "a" (also fields[0])`},
		{"CardinalityZero", field(`{"name":"a","type":"text","cardinality":0}`), "fields[0].cardinality", "must be at least 1"},
		{"CardinalityWord", field(`{"name":"a","type":"text","cardinality":"many"}`), "fields[0].cardinality", `must be "unlimited"`},
		{"FormatOnText", field(`{"name":"a","type":"text","format":"markdown"}`), "fields[0].format", "does not apply to text fields (only long_text)"},
		{"MinOnText", field(`{"name":"a","type":"text","min":1}`), "fields[0].min", "does not apply to text fields"},
		{"TargetTypesOnTermRef", field(`{"name":"a","type":"term_ref","vocabulary":"v","target_types":["page"]}`), "fields[0].target_types", "does not apply"},
		{"TermRefNeedsVocabulary", field(`{"name":"a","type":"term_ref"}`), "fields[0].vocabulary", "is required for term_ref"},
		{"BadTargetTypeName", field(`{"name":"a","type":"item_ref","target_types":["Page"]}`), "fields[0].target_types[0]", "does not match"},
		{"DuplicateTargetType", field(`{"name":"a","type":"item_ref","target_types":["page","page"]}`), "fields[0].target_types[1]", "duplicate target type"},
		{"MinGreaterThanMax", field(`{"name":"a","type":"decimal","min":2.5,"max":2.25}`), "fields[0].min", "must not be greater than max (2.5 > 2.25)"},
		{"IntegerMinFraction", field(`{"name":"a","type":"integer","min":0.5}`), "fields[0].min", "whole number"},
		{"MinNotNumber", field(`{"name":"a","type":"decimal","min":"1.5"}`), "fields[0].min", "must be a number, not a string"},
		{"AllowedValuesTextNumber", field(`{"name":"a","type":"text","allowed_values":["a",1]}`), "fields[0].allowed_values[1]", "must be a string for text fields"},
		{"AllowedValuesDecimalString", field(`{"name":"a","type":"decimal","allowed_values":["1.5"]}`), "fields[0].allowed_values[0]", "must be a number for decimal fields"},
		{"TextMaxLengthHuge", field(`{"name":"a","type":"text","max_length":5000}`), "fields[0].max_length", "use long_text"},
		{"ImageNonImageMIME", field(`{"name":"a","type":"image","allowed_mime":["application/pdf"]}`), "fields[0].allowed_mime[0]", "is not an image type"},
		{"BadMIMEPattern", field(`{"name":"a","type":"file","allowed_mime":["pdf"]}`), "fields[0].allowed_mime[0]", "does not match"},
		{"AllowedValueNotInteger", field(`{"name":"a","type":"integer","allowed_values":[1,2.5]}`), "fields[0].allowed_values[1]", "must be a whole number"},
		{"AllowedValueOutOfRange", field(`{"name":"a","type":"integer","max":3,"allowed_values":[1,5]}`), "fields[0].allowed_values[1]", "must be at most 3"},
		{"AllowedValueTooLong", field(`{"name":"a","type":"text","max_length":3,"allowed_values":["abcd"]}`), "fields[0].allowed_values[0]", "at most 3 characters"},
		{"AllowedValueDuplicate", field(`{"name":"a","type":"decimal","allowed_values":[1.5,1.50]}`), "fields[0].allowed_values[1]", "duplicate allowed value"},
		{"DefaultWrongType", field(`{"name":"a","type":"integer","default":"x"}`), "fields[0].default", "must be an integer, not a string"},
		{"DefaultNotList", field(`{"name":"a","type":"text","cardinality":2,"default":"x"}`), "fields[0].default", "must be a list"},
		{"DefaultOutOfRange", field(`{"name":"a","type":"integer","max":3,"default":4}`), "fields[0].default", "must be at most 3"},
		{"DefaultBadLink", field(`{"name":"a","type":"link","default":{"url":"javascript:x"}}`), "fields[0].default.url", "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, err := ParseItemType(json.RawMessage(tt.body))
			if tt.path == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if typ.Name != "t" {
					t.Errorf("name %q", typ.Name)
				}
				return
			}
			if ErrorCode(err) != EInvalid {
				t.Fatalf("got %v, want %s", err, EInvalid)
			}
			for _, f := range ErrorFields(err) {
				if f.Path == tt.path && strings.Contains(f.Message, tt.want) {
					return
				}
			}
			t.Errorf("got %v\nwant %s: ...%s...", err, tt.path, tt.want)
		})
	}
}

func TestParseItemTypeDecodes(t *testing.T) {
	typ := mustItemType(t, "everything.yaml")
	if typ.Version != 1 || typ.TitleLabel != "Name" || len(typ.Fields) != 15 {
		t.Fatalf("got %+v", typ)
	}
	codes := typ.Field("codes")
	if codes.Cardinality != 3 || !codes.Multiple() || strings.Join(codes.AllowedValues, ",") != "1,2,3" {
		t.Errorf("codes: %+v", codes)
	}
	if a := typ.Field("amount"); a.Min != "0.01" || a.Max != "1000" || a.Scale == nil || *a.Scale != 2 {
		t.Errorf("amount: %+v", a)
	}
	if n := typ.Field("notes"); string(n.Default) != `"none yet"` || n.EffectiveFormat() != FormatPlain || n.EffectiveMaxLength() != 50 {
		t.Errorf("notes: %+v", n)
	}
	if s := typ.Field("summary"); s.Multiple() || s.Cardinality != 1 {
		t.Errorf("summary: %+v", s)
	}
	art := mustItemType(t, "article.yaml")
	if r := art.Field("related"); r.Cardinality != CardinalityUnlimited || strings.Join(r.TargetTypes, ",") != "article,page" {
		t.Errorf("related: %+v", r)
	}
	if art.Field("nope") != nil {
		t.Error("Field(nope) is not nil")
	}
}

func TestItemTypeConfigDocRoundTrip(t *testing.T) {
	for _, f := range []string{"article.yaml", "page.yaml", "everything.yaml"} {
		t.Run(f, func(t *testing.T) {
			doc := mustParseConfigFile(t, "testdata/"+f)[0]
			typ, err := ItemTypeFromConfig(doc, 7)
			if err != nil {
				t.Fatal(err)
			}
			back, err := typ.ConfigDoc()
			if err != nil {
				t.Fatal(err)
			}
			if string(back.Body) != string(doc.Body) || back.Name != doc.Name || back.Kind != "item_type" {
				t.Errorf("round trip changed the document:\n%s\n%s", doc.Body, back.Body)
			}
		})
	}
	if _, err := ItemTypeFromConfig(ConfigDoc{Kind: "menu", Name: "x", Body: json.RawMessage(`{}`)}, 1); ErrorCode(err) != EInvalid {
		t.Errorf("menu as item type: %v", err)
	}
}

func typeWith(fields ...string) *ItemType {
	body := `{"name":"t","label":"T","fields":[` + strings.Join(fields, ",") + `]}`
	t, err := ParseItemType(json.RawMessage(body))
	if err != nil {
		panic(err)
	}
	return t
}

func TestPlanTypeChange(t *testing.T) {
	tests := []struct {
		name    string
		old     string
		new     string
		change  FieldChangeKind
		reason  string
		instant bool
	}{
		{"AddedOptional", ``, `{"name":"a","type":"text"}`, FieldAdded, "", true},
		{"AddedRequiredWithDefault", ``, `{"name":"a","type":"text","required":true,"default":"x"}`, FieldAdded, "existing items get the default", false},
		{"AddedRequiredNoDefault", ``, `{"name":"a","type":"text","required":true}`, FieldAdded, "cannot be converted", false},
		{"Removed", `{"name":"a","type":"text"}`, ``, FieldRemoved, "dropped", false},
		{"Retyped", `{"name":"a","type":"text"}`, `{"name":"a","type":"integer"}`, FieldRetyped, "type text -> integer", false},
		{"SingleToList", `{"name":"a","type":"text"}`, `{"name":"a","type":"text","cardinality":3}`, FieldRetyped, "cardinality 1 -> 3", false},
		{"MaxLengthLowered", `{"name":"a","type":"text"}`, `{"name":"a","type":"text","max_length":100}`, FieldTightened, "max_length 255 -> 100", false},
		{"MaxLengthRaised", `{"name":"a","type":"text","max_length":100}`, `{"name":"a","type":"text"}`, FieldLoosened, "max_length 100 -> 255", true},
		{"RequiredAdded", `{"name":"a","type":"text"}`, `{"name":"a","type":"text","required":true}`, FieldTightened, "required false -> true", false},
		{"RequiredDropped", `{"name":"a","type":"text","required":true}`, `{"name":"a","type":"text"}`, FieldLoosened, "required true -> false", true},
		{"MinRaised", `{"name":"a","type":"integer","min":1}`, `{"name":"a","type":"integer","min":2}`, FieldTightened, "min 1 -> 2", false},
		{"MinAdded", `{"name":"a","type":"integer"}`, `{"name":"a","type":"integer","min":0}`, FieldTightened, "min (none) -> 0", false},
		{"MaxRaised", `{"name":"a","type":"decimal","max":9.5}`, `{"name":"a","type":"decimal","max":10}`, FieldLoosened, "max 9.5 -> 10", true},
		{"MaxLowered", `{"name":"a","type":"decimal","max":10}`, `{"name":"a","type":"decimal","max":9.99}`, FieldTightened, "max 10 -> 9.99", false},
		{"ScaleLowered", `{"name":"a","type":"decimal","scale":3}`, `{"name":"a","type":"decimal","scale":2}`, FieldTightened, "scale 3 -> 2", false},
		{"AllowedValuesReduced", `{"name":"a","type":"text","allowed_values":["x","y"]}`, `{"name":"a","type":"text","allowed_values":["x"]}`, FieldTightened, "allowed_values [x, y] -> [x]", false},
		{"AllowedValuesExtended", `{"name":"a","type":"text","allowed_values":["x"]}`, `{"name":"a","type":"text","allowed_values":["x","y"]}`, FieldLoosened, "allowed_values", true},
		{"AllowedValuesAdded", `{"name":"a","type":"text"}`, `{"name":"a","type":"text","allowed_values":["x"]}`, FieldTightened, "(any) -> [x]", false},
		{"CardinalityLowered", `{"name":"a","type":"text","cardinality":"unlimited"}`, `{"name":"a","type":"text","cardinality":2}`, FieldTightened, "cardinality unlimited -> 2", false},
		{"CardinalityRaised", `{"name":"a","type":"text","cardinality":2}`, `{"name":"a","type":"text","cardinality":5}`, FieldLoosened, "cardinality 2 -> 5", true},
		{"TargetsReduced", `{"name":"a","type":"item_ref","target_types":["page","article"]}`, `{"name":"a","type":"item_ref","target_types":["page"]}`, FieldTightened, "target_types", false},
		{"TargetsAnyToSome", `{"name":"a","type":"item_ref"}`, `{"name":"a","type":"item_ref","target_types":["page"]}`, FieldTightened, "target_types (any) -> [page]", false},
		{"VocabularyChanged", `{"name":"a","type":"term_ref","vocabulary":"tags"}`, `{"name":"a","type":"term_ref","vocabulary":"topics"}`, FieldTightened, "vocabulary tags -> topics", false},
		{"MIMEReduced", `{"name":"a","type":"file"}`, `{"name":"a","type":"file","allowed_mime":["application/pdf"]}`, FieldTightened, "allowed_mime", false},
		{"MaxSizeLowered", `{"name":"a","type":"file","max_size":100}`, `{"name":"a","type":"file","max_size":10}`, FieldTightened, "max_size 100 -> 10", false},
		{"Relabeled", `{"name":"a","type":"text","label":"A"}`, `{"name":"a","type":"text","label":"B","default":"d"}`, FieldRelabeled, `label "A" -> "B"`, true},
		{"FormatChanged", `{"name":"a","type":"long_text","format":"markdown"}`, `{"name":"a","type":"long_text"}`, FieldRelabeled, "format markdown -> plain", true},
		{"TightAndLoose", `{"name":"a","type":"integer","min":0,"max":5}`, `{"name":"a","type":"integer","min":1,"max":10}`, FieldTightened, "max 5 -> 10", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var of, nf []string
			if tt.old != "" {
				of = append(of, tt.old)
			}
			if tt.new != "" {
				nf = append(nf, tt.new)
			}
			plan := PlanTypeChange(typeWith(of...), typeWith(nf...))
			if len(plan.Fields) != 1 {
				t.Fatalf("got %d field plans, want 1: %s", len(plan.Fields), plan)
			}
			fp := plan.Fields[0]
			if fp.Field != "a" || fp.Change != tt.change {
				t.Errorf("got %s %s, want %s", fp.Field, fp.Change, tt.change)
			}
			if tt.reason != "" && !strings.Contains(strings.Join(fp.Reasons, "; "), tt.reason) {
				t.Errorf("reasons %q do not mention %q", fp.Reasons, tt.reason)
			}
			if plan.Instant() != tt.instant {
				t.Errorf("Instant() = %v, want %v", plan.Instant(), tt.instant)
			}
		})
	}
}

func TestPlanTypeChangeNewType(t *testing.T) {
	plan := PlanTypeChange(nil, mustItemType(t, "page.yaml"))
	if len(plan.Fields) != 1 || plan.Fields[0].Change != FieldAdded || !plan.Instant() {
		t.Errorf("new type: %s", plan)
	}
}

func TestPlanTypeChangeUnchanged(t *testing.T) {
	art := mustItemType(t, "article.yaml")
	plan := PlanTypeChange(art, mustItemType(t, "article.yaml"))
	if plan.Changed() || !plan.Instant() {
		t.Errorf("identical types: %s", plan)
	}
	if !strings.Contains(plan.String(), "no field changes") {
		t.Errorf("String() = %q", plan.String())
	}
	raw, err := json.Marshal(PlanTypeChange(typeWith(`{"name":"a","type":"text"}`), typeWith(`{"name":"a","type":"integer"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"t","fields":[{"field":"a","change":"retyped","reasons":["type text -\u003e integer"]}]}`; string(raw) != want {
		t.Errorf("JSON %s, want %s", raw, want)
	}
}

func TestTypeChangeConvert(t *testing.T) {
	tests := []struct {
		name   string
		old    string
		new    string
		fields string
		want   string // converted output, when no problems
		path   string // first problem's path
		msg    string
	}{
		{"IntegerToDecimal", `{"name":"a","type":"integer"}`, `{"name":"a","type":"decimal","scale":2}`, `{"a":5}`, `{"a":"5.00"}`, "", ""},
		{"DecimalToIntegerWhole", `{"name":"a","type":"decimal"}`, `{"name":"a","type":"integer"}`, `{"a":"12.000"}`, `{"a":12}`, "", ""},
		{"DecimalToIntegerFraction", `{"name":"a","type":"decimal"}`, `{"name":"a","type":"integer"}`, `{"a":"12.5"}`, "", "fields.a", "has a fraction"},
		{"IntegerToText", `{"name":"a","type":"integer"}`, `{"name":"a","type":"text"}`, `{"a":-3}`, `{"a":"-3"}`, "", ""},
		{"TextToInteger", `{"name":"a","type":"text"}`, `{"name":"a","type":"integer"}`, `{"a":" 42 "}`, `{"a":42}`, "", ""},
		{"TextToIntegerFails", `{"name":"a","type":"text"}`, `{"name":"a","type":"integer"}`, `{"a":"forty"}`, "", "fields.a", `cannot convert text value "forty" to integer`},
		{"TextToDecimal", `{"name":"a","type":"text"}`, `{"name":"a","type":"decimal"}`, `{"a":"1.50"}`, `{"a":"1.50"}`, "", ""},
		{"TextToDecimalRange", `{"name":"a","type":"text"}`, `{"name":"a","type":"decimal","max":1}`, `{"a":"1.50"}`, "", "fields.a", "must be at most 1"},
		{"TextTruncationIsAProblem", `{"name":"a","type":"long_text"}`, `{"name":"a","type":"text","max_length":5}`, `{"a":"123456"}`, "", "fields.a", "must be at most 5 characters (got 6)"},
		{"LongTextMultiLineToText", `{"name":"a","type":"long_text"}`, `{"name":"a","type":"text"}`, `{"a":"a\nb"}`, "", "fields.a", "one line"},
		{"BooleanToInteger", `{"name":"a","type":"boolean"}`, `{"name":"a","type":"integer"}`, `{"a":true}`, `{"a":1}`, "", ""},
		{"IntegerToBooleanFails", `{"name":"a","type":"integer"}`, `{"name":"a","type":"boolean"}`, `{"a":2}`, "", "fields.a", "only 0 and 1"},
		{"DateToDateTime", `{"name":"a","type":"date"}`, `{"name":"a","type":"datetime"}`, `{"a":"2024-05-01"}`, `{"a":"2024-05-01T00:00:00Z"}`, "", ""},
		{"DateTimeToDateMidnight", `{"name":"a","type":"datetime"}`, `{"name":"a","type":"date"}`, `{"a":"2024-05-01T00:00:00Z"}`, `{"a":"2024-05-01"}`, "", ""},
		{"DateTimeToDateLossy", `{"name":"a","type":"datetime"}`, `{"name":"a","type":"date"}`, `{"a":"2024-05-01T10:00:00Z"}`, "", "fields.a", "has a time of day"},
		{"TextToEmailInvalid", `{"name":"a","type":"text"}`, `{"name":"a","type":"email"}`, `{"a":"nobody"}`, "", "fields.a", "email address"},
		{"LinkToText", `{"name":"a","type":"link"}`, `{"name":"a","type":"text"}`, `{"a":{"url":"/x","title":"X"}}`, `{"a":"/x"}`, "", ""},
		{"TextToLink", `{"name":"a","type":"text"}`, `{"name":"a","type":"link"}`, `{"a":"https://example.org"}`, `{"a":{"url":"https://example.org"}}`, "", ""},
		{"FileToImageNeedsAlt", `{"name":"a","type":"file"}`, `{"name":"a","type":"image"}`, `{"a":{"id":"01900000-0000-7000-8000-000000000021"}}`, "", "fields.a.alt", "is required"},
		{"ImageToFile", `{"name":"a","type":"image"}`, `{"name":"a","type":"file"}`, `{"a":{"id":"01900000-0000-7000-8000-000000000021","alt":"x"}}`, `{"a":{"id":"01900000-0000-7000-8000-000000000021"}}`, "", ""},
		{"RefToTextFails", `{"name":"a","type":"item_ref"}`, `{"name":"a","type":"text"}`, `{"a":{"id":"01900000-0000-7000-8000-000000000021"}}`, "", "fields.a", "cannot convert item_ref"},
		{"SingleToList", `{"name":"a","type":"integer"}`, `{"name":"a","type":"text","cardinality":"unlimited"}`, `{"a":7}`, `{"a":["7"]}`, "", ""},
		{"ListToSingleOne", `{"name":"a","type":"text","cardinality":3}`, `{"name":"a","type":"text"}`, `{"a":["x"]}`, `{"a":"x"}`, "", ""},
		{"ListToSingleMany", `{"name":"a","type":"text","cardinality":3}`, `{"name":"a","type":"text"}`, `{"a":["x","y"]}`, "", "fields.a", "has 2 values; the new type allows 1"},
		{"ListElementFails", `{"name":"a","type":"text","cardinality":3}`, `{"name":"a","type":"integer","cardinality":3}`, `{"a":["1","two"]}`, "", "fields.a[1]", "cannot convert"},
		{"CardinalityLowered", `{"name":"a","type":"text","cardinality":3}`, `{"name":"a","type":"text","cardinality":2}`, `{"a":["x","y","z"]}`, "", "fields.a", "has 3 values; at most 2 allowed"},
		{"Removed", `{"name":"a","type":"text"},{"name":"b","type":"text"}`, `{"name":"b","type":"text"}`, `{"a":"gone","b":"kept"}`, `{"b":"kept"}`, "", ""},
		{"AddedRequiredDefault", `{"name":"b","type":"text"}`, `{"name":"b","type":"text"},{"name":"a","type":"integer","required":true,"default":1}`, `{"b":"x"}`, `{"a":1,"b":"x"}`, "", ""},
		{"AddedOptionalDefaultNotApplied", `{"name":"b","type":"text"}`, `{"name":"b","type":"text"},{"name":"a","type":"integer","default":1}`, `{"b":"x"}`, `{"b":"x"}`, "", ""},
		{"AddedRequiredNoDefault", `{"name":"b","type":"text"}`, `{"name":"b","type":"text"},{"name":"a","type":"integer","required":true}`, `{"b":"x"}`, "", "fields.a", "is required"},
		{"RequiredAddedMissingValue", `{"name":"a","type":"text"}`, `{"name":"a","type":"text","required":true}`, `{}`, "", "fields.a", "is required"},
		{"AllowedValuesReduced", `{"name":"a","type":"text","allowed_values":["x","y"]}`, `{"name":"a","type":"text","allowed_values":["x"]}`, `{"a":"y"}`, "", "fields.a", `must be one of "x"`},
		{"UnknownStoredField", `{"name":"a","type":"text"}`, `{"name":"a","type":"text"}`, `{"zz":1}`, "", "fields.zz", "unknown field"},
		{"NotObject", `{"name":"a","type":"text"}`, `{"name":"a","type":"text"}`, `[1]`, "", "fields", "must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := mustTypeFromJSON(t, `{"name":"t","label":"T","fields":[`+tt.old+`]}`)
			nt := mustTypeFromJSON(t, `{"name":"t","label":"T","fields":[`+tt.new+`]}`)
			out, problems := PlanTypeChange(old, nt).Convert(json.RawMessage(tt.fields))
			if tt.path == "" {
				if len(problems) > 0 {
					t.Fatalf("unexpected problems %+v", problems)
				}
				if string(out) != tt.want {
					t.Errorf("converted %s, want %s", out, tt.want)
				}
				return
			}
			if out != nil {
				t.Errorf("converted %s despite problems", out)
			}
			if len(problems) == 0 || problems[0].Path != tt.path || !strings.Contains(problems[0].Message, tt.msg) {
				t.Errorf("problems %+v, want %s: ...%s...", problems, tt.path, tt.msg)
			}
		})
	}
}

func TestFieldsJSONSchema(t *testing.T) {
	typ := mustItemType(t, "everything.yaml")
	raw := typ.FieldsJSONSchema()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("schema is not JSON: %v\n%s", err, raw)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("fields.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("fields.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v\n%s", err, raw)
	}
	tests := []struct {
		name   string
		fields string
		valid  bool
	}{
		{"OK", `{"contact":"a@example.org","summary":"short","count":3,"codes":[1,2],"amount":"12.50","day":"2024-05-01",
			"moment":"2024-05-01T10:00:00Z","links":[{"url":"/x"}],"photo":{"id":"01900000-0000-7000-8000-000000000021","alt":"x"}}`, true},
		{"MissingRequired", `{}`, false},
		{"UnknownField", `{"contact":"a@example.org","zz":1}`, false},
		{"TooLong", `{"contact":"a@example.org","summary":"` + strings.Repeat("x", 21) + `"}`, false},
		{"NotAllowed", `{"contact":"a@example.org","codes":[4]}`, false},
		{"TooMany", `{"contact":"a@example.org","links":[{"url":"/a"},{"url":"/b"},{"url":"/c"}]}`, false},
		{"BadRefShape", `{"contact":"a@example.org","parent":"x"}`, false},
		{"CountTooBig", `{"contact":"a@example.org","count":11}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.fields))
			if err != nil {
				t.Fatal(err)
			}
			err = schema.Validate(v)
			if (err == nil) != tt.valid {
				t.Errorf("schema says valid=%v (%v), want %v", err == nil, err, tt.valid)
			}
			// The schema and ValidateFields agree on these cases.
			_, verr := typ.ValidateFields(context.Background(), json.RawMessage(tt.fields), nil)
			if (verr == nil) != tt.valid {
				t.Errorf("ValidateFields says valid=%v (%v), want %v", verr == nil, verr, tt.valid)
			}
		})
	}
	if got := typ.Field("contact").DisplayLabel(); got != "Contact" {
		t.Errorf("DisplayLabel() = %q", got)
	}
	if typ.DisplayTitleLabel() != "Name" || mustItemType(t, "page.yaml").DisplayTitleLabel() != "Title" {
		t.Error("DisplayTitleLabel")
	}
}
