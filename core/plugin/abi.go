package plugin

// ABI constants shared by the sandbox and the host modules. docs/plugin-abi.md
// is the normative description; keep the two in step.

// APIVersion is the plugin ABI version this host implements. A manifest's
// api_version must equal it.
const APIVersion = 1

// Guest exports.
const (
	exportAlloc      = "trovato_alloc"  // (size i32) -> ptr i32
	exportWarmup     = "trovato_warmup" // () optional
	exportInitialize = "_initialize"    // WASI reactor initialiser, optional
	tapExportPrefix  = "tap_"           // tap_<name>(ptr i32, len i32) -> i64
)

// hostModule is the import module name of the host functions.
const hostModule = "trovato"

// Packed tap result: high 32 bits pointer, low 31 bits length, bit 31 set
// when the bytes are an error document {"code": ..., "message": ...}.
const resultErrorFlag = 1 << 31

// Host function status codes, returned as negative i32 values. After a
// negative status, result_read returns the error document.
const (
	statusNotFound    = -1 // core.ENotFound
	statusForbidden   = -2 // core.EForbidden: capability not approved, permission, foreign table
	statusInvalid     = -3 // core.EInvalid: malformed argument
	statusTooLarge    = -4 // core.ETooLarge: result larger than the call's output cap
	statusUnavailable = -5 // core.EUnavailable: no backing service configured
	statusInternal    = -6 // core.EInternal
	statusConflict    = -7 // core.EConflict
)

// Capability is a host-module permission a plugin requests in its manifest
// and an administrator approves at enable time.
type Capability string

// The fixed set of capabilities.
const (
	CapItemRead   Capability = "item.read"
	CapItemWrite  Capability = "item.write"
	CapData       Capability = "data"
	CapUserRead   Capability = "user.read"
	CapCache      Capability = "cache"
	CapVariables  Capability = "variables"
	CapRequest    Capability = "request"
	CapLog        Capability = "log"
	CapAccessVote Capability = "access.vote"
)

// Capabilities lists every capability a manifest may request.
var Capabilities = []Capability{
	CapItemRead, CapItemWrite, CapData, CapUserRead, CapCache,
	CapVariables, CapRequest, CapLog, CapAccessVote,
}

func validCapability(c Capability) bool {
	for _, k := range Capabilities {
		if k == c {
			return true
		}
	}
	return false
}

// Taps is the canonical list of taps (docs/plugin-abi.md documents each
// one's input and output).
var Taps = []string{
	"install", "uninstall", "item_info", "route", "page_view",
	"item_view", "item_view_alter", "item_presave", "item_insert",
	"item_update", "item_delete", "item_access", "item_grants",
	"user_grants", "menu", "form_alter", "form_validate", "cron",
	"gather_extend", "preprocess", "tile_info", "tile_view",
}

func knownTap(name string) bool {
	for _, t := range Taps {
		if t == name {
			return true
		}
	}
	return false
}
