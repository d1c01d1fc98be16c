package kernel

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"

	"github.com/trovato/trovato/core"
)

// Config holds the process settings: where data lives, which services to
// use, where to listen, limits. Site settings are not here: they live in
// the config store. Values come from defaults < trovato.toml < TROVATO_*
// environment < flags; unknown keys are errors.
type Config struct {
	// DataDir holds the embedded PostgreSQL cluster, the private
	// redis-server, caches and trovato.toml.
	DataDir string `toml:"data_dir"`
	// DatabaseURL selects an external PostgreSQL; empty means the embedded
	// cluster under DataDir.
	DatabaseURL string `toml:"database_url"`
	// RedisURL selects an external Redis; empty means a private
	// redis-server for serve, and in-process memory for one-shot commands.
	RedisURL string `toml:"redis_url"`
	// Addr is where serve listens.
	Addr string `toml:"addr"`
	// MaxUploadBytes limits one uploaded file.
	MaxUploadBytes int64 `toml:"max_upload_bytes"`
	// AllowedUploadTypes are the MIME types (sniffed from the content) that
	// uploads may have; empty means postgres.DefaultAllowedTypes.
	AllowedUploadTypes []string `toml:"allowed_upload_types"`
	// MaxRequestBytes limits one request body other than uploads.
	MaxRequestBytes int64 `toml:"max_request_bytes"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `toml:"log_level"`
	// PluginCacheDir holds wazero's compilation cache; empty means
	// <DataDir>/cache/wasm.
	PluginCacheDir string `toml:"plugin_cache_dir"`
	// SMTPHost is the operator's mail relay (STARTTLS required unless it
	// is on localhost); empty means mail is written to MailDir.
	SMTPHost     string `toml:"smtp_host"`
	SMTPPort     int    `toml:"smtp_port"`
	SMTPUsername string `toml:"smtp_username"`
	SMTPPassword string `toml:"smtp_password"`
	// MailFrom is the sender of password reset mail.
	MailFrom string `toml:"mail_from"`
	// MailDir is where mail goes without SMTPHost (development); empty
	// means <DataDir>/mail.
	MailDir string `toml:"mail_dir"`
	// LoginLockout and AddressLockout override the failed sign-in
	// lockouts per account name and per client address, as
	// "FAILURES/WINDOW" (the lock lasts WINDOW), for example "5/15m".
	LoginLockout   string `toml:"login_lockout"`
	AddressLockout string `toml:"address_lockout"`
	// RateLimits override the site's rate limits per route class, as
	// "CLASS=N/WINDOW" or "CLASS=off", comma-separated (for example
	// "login=10/1m,reset=off").
	RateLimits string `toml:"rate_limits"`
}

// envKeys maps environment variables to config keys.
var envKeys = map[string]string{
	"TROVATO_DATA_DIR":             "data_dir",
	"TROVATO_DATABASE_URL":         "database_url",
	"DATABASE_URL":                 "database_url",
	"TROVATO_REDIS_URL":            "redis_url",
	"REDIS_URL":                    "redis_url",
	"TROVATO_ADDR":                 "addr",
	"TROVATO_MAX_UPLOAD_BYTES":     "max_upload_bytes",
	"TROVATO_MAX_REQUEST_BYTES":    "max_request_bytes",
	"TROVATO_ALLOWED_UPLOAD_TYPES": "allowed_upload_types",
	"TROVATO_LOG_LEVEL":            "log_level",
	"TROVATO_PLUGIN_CACHE_DIR":     "plugin_cache_dir",
	"TROVATO_SMTP_HOST":            "smtp_host",
	"TROVATO_SMTP_PORT":            "smtp_port",
	"TROVATO_SMTP_USERNAME":        "smtp_username",
	"TROVATO_SMTP_PASSWORD":        "smtp_password",
	"TROVATO_MAIL_FROM":            "mail_from",
	"TROVATO_MAIL_DIR":             "mail_dir",
	"TROVATO_LOGIN_LOCKOUT":        "login_lockout",
	"TROVATO_ADDRESS_LOCKOUT":      "address_lockout",
	"TROVATO_RATE_LIMITS":          "rate_limits",
}

// DefaultDataDir is ~/.local/share/trovato, or /var/lib/trovato as root
// (root's home is not traversable by the unprivileged user that runs the
// embedded PostgreSQL).
func DefaultDataDir(uid int, home string) string {
	if uid == 0 || home == "" {
		return "/var/lib/trovato"
	}
	return filepath.Join(home, ".local", "share", "trovato")
}

// DefaultConfig returns the built-in defaults.
func DefaultConfig(dataDir string) Config {
	return Config{
		DataDir:         dataDir,
		Addr:            "127.0.0.1:8080",
		MaxUploadBytes:  64 << 20,
		MaxRequestBytes: 2 << 20,
		LogLevel:        "info",
	}
}

// LoadConfig layers a config file and environment over cfg. file may be
// empty; a missing file is an error only when mustExist. env is in
// os.Environ form; the caller passes it (core never reads the environment).
func LoadConfig(cfg Config, file string, mustExist bool, env []string) (Config, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		switch {
		case (errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && !mustExist:
		case err != nil:
			return cfg, core.Errorf(core.EInvalid, "read config file: %v", err)
		default:
			md, err := toml.Decode(string(data), &cfg)
			if err != nil {
				return cfg, core.Errorf(core.EInvalid, "%s: %v", file, err)
			}
			if und := md.Undecoded(); len(und) > 0 {
				keys := make([]string, len(und))
				for i, k := range und {
					keys[i] = k.String()
				}
				return cfg, core.Errorf(core.EInvalid, "%s: unknown key %s (known: %s)", file, strings.Join(keys, ", "), strings.Join(knownKeys(), ", "))
			}
		}
	}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		key, known := envKeys[k]
		if !known {
			if strings.HasPrefix(k, "TROVATO_") && !strings.HasPrefix(k, "TROVATO_TEST_") {
				return cfg, core.Errorf(core.EInvalid, "unknown environment variable %s (known: %s)", k, strings.Join(knownEnv(), ", "))
			}
			continue
		}
		if err := cfg.Set(key, v); err != nil {
			return cfg, core.Errorf(core.EInvalid, "environment %s: %v", k, core.ErrorMessage(err))
		}
	}
	return cfg, nil
}

func knownKeys() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range envKeys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func knownEnv() []string {
	var out []string
	for k := range envKeys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Set sets one key from a string (environment and flags use it).
func (c *Config) Set(key, value string) error {
	switch key {
	case "data_dir":
		c.DataDir = value
	case "database_url":
		c.DatabaseURL = value
	case "redis_url":
		c.RedisURL = value
	case "addr":
		c.Addr = value
	case "log_level":
		c.LogLevel = value
	case "plugin_cache_dir":
		c.PluginCacheDir = value
	case "smtp_host":
		c.SMTPHost = value
	case "smtp_port":
		n, err := strconv.Atoi(value)
		if err != nil {
			return core.Errorf(core.EInvalid, "smtp_port must be a port number, not %q", value)
		}
		c.SMTPPort = n
	case "smtp_username":
		c.SMTPUsername = value
	case "smtp_password":
		c.SMTPPassword = value
	case "mail_from":
		c.MailFrom = value
	case "mail_dir":
		c.MailDir = value
	case "login_lockout":
		c.LoginLockout = value
	case "address_lockout":
		c.AddressLockout = value
	case "rate_limits":
		c.RateLimits = value
	case "allowed_upload_types":
		c.AllowedUploadTypes = nil
		for _, t := range strings.Split(value, ",") {
			if t = strings.TrimSpace(t); t != "" {
				c.AllowedUploadTypes = append(c.AllowedUploadTypes, t)
			}
		}
	case "max_upload_bytes", "max_request_bytes":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return core.Errorf(core.EInvalid, "%s must be a whole number of bytes, not %q", key, value)
		}
		if key == "max_upload_bytes" {
			c.MaxUploadBytes = n
		} else {
			c.MaxRequestBytes = n
		}
	default:
		return core.Errorf(core.EInvalid, "unknown setting %q (known: %s)", key, strings.Join(knownKeys(), ", "))
	}
	return nil
}

// Validate checks the settings and says what to change.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return core.Errorf(core.EInvalid, "data_dir is empty: set --data-dir or TROVATO_DATA_DIR")
	}
	if !filepath.IsAbs(c.DataDir) {
		abs, err := filepath.Abs(c.DataDir)
		if err != nil {
			return core.Errorf(core.EInvalid, "data_dir %q: %v", c.DataDir, err)
		}
		c.DataDir = abs
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return core.Errorf(core.EInvalid, "addr %q is not HOST:PORT (for example 127.0.0.1:8080)", c.Addr)
	}
	if c.MaxUploadBytes <= 0 || c.MaxRequestBytes <= 0 {
		return core.Errorf(core.EInvalid, "max_upload_bytes and max_request_bytes must be positive")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return core.Errorf(core.EInvalid, "log_level %q: use debug, info, warn or error", c.LogLevel)
	}
	for _, t := range c.AllowedUploadTypes {
		if !strings.Contains(t, "/") || strings.ContainsAny(t, " ;") {
			return core.Errorf(core.EInvalid, "allowed_upload_types: %q is not a MIME type such as image/png", t)
		}
	}
	if c.PluginCacheDir == "" {
		c.PluginCacheDir = filepath.Join(c.DataDir, "cache", "wasm")
	}
	if c.MailDir == "" {
		c.MailDir = filepath.Join(c.DataDir, "mail")
	}
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		return core.Errorf(core.EInvalid, "smtp_port %d is out of range (587 by default)", c.SMTPPort)
	}
	if c.SMTPHost == "" && (c.SMTPUsername != "" || c.SMTPPassword != "") {
		return core.Errorf(core.EInvalid, "smtp_username or smtp_password is set without smtp_host")
	}
	if _, err := ParseRateLimits(c.RateLimits); err != nil {
		return core.Errorf(core.EInvalid, "rate_limits: %s", core.ErrorMessage(err))
	}
	for key, v := range map[string]string{"login_lockout": c.LoginLockout, "address_lockout": c.AddressLockout} {
		if _, err := ParseLockout(v, core.LockoutPolicy{}); err != nil {
			return core.Errorf(core.EInvalid, "%s: %s", key, core.ErrorMessage(err))
		}
	}
	return nil
}

func (c Config) String() string {
	return fmt.Sprintf("data_dir=%s database=%s redis=%s addr=%s", c.DataDir, redact(c.DatabaseURL, "embedded"), redact(c.RedisURL, "private"), c.Addr)
}

func redact(url, empty string) string {
	if url == "" {
		return empty
	}
	if i := strings.Index(url, "@"); i > 0 {
		if j := strings.Index(url, "://"); j > 0 && j < i {
			return url[:j+3] + "***" + url[i:]
		}
	}
	return url
}
