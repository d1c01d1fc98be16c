package sdk

import "fmt"

// Error codes, as in the kernel (core/error.go).
const (
	EConflict     = "conflict"
	EInternal     = "internal"
	EInvalid      = "invalid"
	ENotFound     = "not_found"
	ENotImpl      = "not_implemented"
	EUnauthorized = "unauthorized"
	EForbidden    = "forbidden"
	ETooLarge     = "too_large"
	ERateLimit    = "rate_limited"
	EUnavailable  = "unavailable"
)

// Error is an error with a code. A tap returning one reports that code to
// the host; host calls return one when the host refuses.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns err's code (EInternal for errors without one).
func ErrorCode(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EInternal
}

// Item is an item document as taps receive it. Fields are decoded lazily:
// Field scans the pre-split list of fields.
type Item struct {
	ID          string
	Type        string
	Title       string
	Status      string
	AuthorID    string
	CreatedAt   string
	ChangedAt   string
	Promote     bool
	Sticky      bool
	Language    string
	RevisionID  string
	TypeVersion int
	Fields      []Field
	Raw         Value // the whole document
}

// Field is one field of an item: its name and raw JSON value.
type Field struct {
	Name  string
	Value Value
}

// Field returns the named field's value (empty if absent).
func (it *Item) Field(name string) Value {
	for i := range it.Fields {
		if it.Fields[i].Name == name {
			return it.Fields[i].Value
		}
	}
	return nil
}

// ParseItem decodes an item document.
func ParseItem(v Value) (Item, error) {
	it, _, err := parseItemAt(v, 0)
	return it, err
}

// parseItemAt decodes the item at b[i] in one pass and returns the offset
// after it.
func parseItemAt(b []byte, i int) (Item, int, error) {
	var it Item
	start := skipSpace(b, i)
	str := func(dst *string, i int) (int, error) {
		v, end, err := valueAt(b, i)
		*dst = v.String()
		return end, err
	}
	end, err := membersAt(b, start, func(k string, i int) (int, error) {
		switch k {
		case "id":
			return str(&it.ID, i)
		case "type":
			return str(&it.Type, i)
		case "title":
			return str(&it.Title, i)
		case "status":
			return str(&it.Status, i)
		case "author_id":
			return str(&it.AuthorID, i)
		case "created_at":
			return str(&it.CreatedAt, i)
		case "changed_at":
			return str(&it.ChangedAt, i)
		case "language":
			return str(&it.Language, i)
		case "revision_id":
			return str(&it.RevisionID, i)
		case "promote", "sticky", "type_version":
			v, end, err := valueAt(b, i)
			switch k {
			case "promote":
				it.Promote = v.Bool()
			case "sticky":
				it.Sticky = v.Bool()
			default:
				it.TypeVersion = int(v.Int())
			}
			return end, err
		case "fields":
			if i < len(b) && b[i] == '{' {
				it.Fields = make([]Field, 0, 24)
				return membersAt(b, i, func(fk string, i int) (int, error) {
					v, end, err := valueAt(b, i)
					it.Fields = append(it.Fields, Field{Name: fk, Value: v})
					return end, err
				})
			}
		}
		return skipValue(b, i)
	})
	if err != nil {
		return it, 0, Errorf(EInvalid, "item: %v", err)
	}
	it.Raw = Value(b[start:end])
	return it, end, nil
}

// User is the current user (CurrentUser) or the user a tap is asked about.
type User struct {
	ID            string
	Name          string
	Roles         []string
	Authenticated bool
}

// HasRole reports whether the user has the role.
func (u *User) HasRole(r string) bool {
	for _, x := range u.Roles {
		if x == r {
			return true
		}
	}
	return false
}

func parseUser(v Value) User {
	return User{ID: v.Get("id").String(), Name: v.Get("name").String(), Roles: v.Get("roles").Strings(), Authenticated: v.Get("authenticated").Bool()}
}

// Request is the request a tap runs for.
type Request struct {
	Path     string
	Query    map[string][]string
	Stage    string
	Language string
}

// Vote is an item_access answer.
type Vote string

// Votes: any deny wins, then any grant, then role permissions decide.
const (
	Grant   Vote = "grant"
	Deny    Vote = "deny"
	Neutral Vote = "neutral"
)

// ItemViewInput is the input of item_view.
type ItemViewInput struct {
	Item     Item
	ViewMode string // "full", "teaser", ...
	Language string
}

// ItemViewAlterInput is the input of item_view_alter: the tree built so
// far, which the tap returns changed.
type ItemViewAlterInput struct {
	Item     Item
	ViewMode string
	Tree     Node
}

// ItemAccessInput is the input of item_access.
type ItemAccessInput struct {
	Op   string // view, update, delete
	Item Item
	User User
}

// PageViewInput is the input of page_view for a route the plugin serves.
type PageViewInput struct {
	Path   string
	Route  string // the pattern that matched
	Params map[string]string
	Query  map[string][]string
	User   User
}
