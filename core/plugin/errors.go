package plugin

import (
	"fmt"

	"github.com/trovato/trovato/core"
)

// Reason classifies why a plugin call failed.
type Reason string

// Failure reasons. docs/plugin-abi.md lists which guest behaviour leads to
// which reason.
const (
	ReasonTrap           Reason = "trap"             // unreachable, division by zero, guest panic...
	ReasonDeadline       Reason = "deadline"         // the call ran past its deadline
	ReasonCanceled       Reason = "canceled"         // the caller's context was canceled
	ReasonMemory         Reason = "memory"           // linear memory reached its cap
	ReasonInputTooLarge  Reason = "input_too_large"  // input above the plugin's input cap
	ReasonOutputTooLarge Reason = "output_too_large" // output above the plugin's output cap
	ReasonInvalidOutput  Reason = "invalid_output"   // not JSON, or refused by the validator
	ReasonBadPointer     Reason = "bad_pointer"      // a pointer outside linear memory
	ReasonHostCallLimit  Reason = "host_call_limit"  // more host calls than allowed in one call
	ReasonPluginError    Reason = "plugin_error"     // the tap returned an error document
	ReasonBadModule      Reason = "bad_module"       // a required export is missing or misbehaves
	ReasonUnavailable    Reason = "unavailable"      // disabled, unloaded or shutting down
)

var reasonCodes = map[Reason]string{
	ReasonTrap:           core.EInternal,
	ReasonDeadline:       core.EUnavailable,
	ReasonCanceled:       core.EUnavailable,
	ReasonMemory:         core.ETooLarge,
	ReasonInputTooLarge:  core.ETooLarge,
	ReasonOutputTooLarge: core.ETooLarge,
	ReasonInvalidOutput:  core.EInvalid,
	ReasonBadPointer:     core.EInvalid,
	ReasonHostCallLimit:  core.ERateLimit,
	ReasonBadModule:      core.EInvalid,
	ReasonUnavailable:    core.EUnavailable,
}

// CallError is the error of one plugin's tap call. It unwraps to a
// *core.Error, so core.ErrorCode works on it.
type CallError struct {
	Plugin string
	Tap    string
	Reason Reason
	Err    *core.Error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("plugin %s: tap %s: %s: %s", e.Plugin, e.Tap, e.Reason, e.Err.Message)
}

func (e *CallError) Unwrap() error { return e.Err }

// failure is a CallError before the plugin and tap are filled in.
type failure struct {
	reason Reason
	code   string // only for ReasonPluginError
	msg    string
}

func fail(r Reason, format string, args ...any) *failure {
	return &failure{reason: r, msg: fmt.Sprintf(format, args...)}
}

func (f *failure) Error() string { return string(f.reason) + ": " + f.msg }

func (f *failure) callError(plugin, tap string) *CallError {
	code := f.code
	if code == "" {
		code = reasonCodes[f.reason]
	}
	return &CallError{Plugin: plugin, Tap: tap, Reason: f.reason, Err: &core.Error{Code: code, Message: f.msg}}
}

// knownCode reports whether c is one of core's error codes; a plugin's
// error document may only use those.
func knownCode(c string) bool {
	switch c {
	case core.EConflict, core.EInternal, core.EInvalid, core.ENotFound, core.ENotImpl,
		core.EUnauthorized, core.EForbidden, core.ETooLarge, core.ERateLimit, core.EUnavailable:
		return true
	}
	return false
}
