package passwords

import (
	_ "embed"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trovato/trovato/core"
)

// common.txt: the 10,000 most frequent passwords of the list that zxcvbn
// 4.4.2 ships (MIT, Dan Wheeler and Dropbox; itself the top of Mark
// Burnett's / xato.net's 10-million-password corpus), plus every entry of
// that list's 30,000 that is 12 or more characters long, lowercased and
// de-duplicated: 10,173 lines, 81 KB.
//
//go:embed common.txt
var commonTxt string

var common = parseCommon(commonTxt)

func parseCommon(s string) map[string]struct{} {
	m := make(map[string]struct{}, 10240)
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			m[line] = struct{}{}
		}
	}
	return m
}

// CommonCount is the number of entries on the bundled list.
func CommonCount() int { return len(common) }

// IsCommon reports whether password, case-insensitively, is on the bundled
// list, or is an entry of it followed only by digits and punctuation
// ("iloveyou2024!").
func IsCommon(password string) bool {
	p := strings.ToLower(password)
	if _, ok := common[p]; ok {
		return true
	}
	base := strings.TrimRightFunc(p, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	if base != p && utf8.RuneCountInString(base) >= 4 {
		_, ok := common[base]
		return ok
	}
	return false
}

// ValidateInput checks what any password field may carry, before it is
// compared or stored: valid UTF-8, at most MaxLength characters, no control
// characters (CR and LF included). Errors are EInvalid with a message that
// does not repeat the input.
func ValidateInput(password string) error {
	switch {
	case len(password) > 4*MaxLength:
		return core.Errorf(core.EInvalid, "the password is longer than %d characters", MaxLength)
	case !utf8.ValidString(password):
		return core.Errorf(core.EInvalid, "the password is not valid UTF-8")
	case utf8.RuneCountInString(password) > MaxLength:
		return core.Errorf(core.EInvalid, "the password is longer than %d characters", MaxLength)
	}
	for _, r := range password {
		if unicode.IsControl(r) {
			return core.Errorf(core.EInvalid, "the password must not contain control characters (tabs, line breaks)")
		}
	}
	return nil
}

// Check applies the rules for a new password: ValidateInput, at least
// MinLength characters, not on the common list, not five or fewer distinct
// characters repeated, and not containing any of userInputs (the account's
// name or email address, compared case-insensitively; inputs shorter than
// four characters are ignored). Errors are EInvalid.
func Check(password string, userInputs ...string) error {
	if err := ValidateInput(password); err != nil {
		return err
	}
	if utf8.RuneCountInString(password) < MinLength {
		return core.Errorf(core.EInvalid, "the password must be at least %d characters long", MinLength)
	}
	if IsCommon(password) {
		return core.Errorf(core.EInvalid, "the password is on the list of commonly used passwords; choose another")
	}
	distinct := map[rune]struct{}{}
	for _, r := range password {
		distinct[r] = struct{}{}
	}
	if len(distinct) < 5 {
		return core.Errorf(core.EInvalid, "the password repeats too few different characters; choose another")
	}
	lower := strings.ToLower(password)
	for _, in := range userInputs {
		in = strings.ToLower(strings.TrimSpace(in))
		if local, _, ok := strings.Cut(in, "@"); ok && utf8.RuneCountInString(local) >= 4 && strings.Contains(lower, local) {
			return core.Errorf(core.EInvalid, "the password must not contain the account's name or email address")
		}
		if utf8.RuneCountInString(in) >= 4 && strings.Contains(lower, in) {
			return core.Errorf(core.EInvalid, "the password must not contain the account's name or email address")
		}
	}
	return nil
}
