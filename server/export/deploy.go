package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/trovato/trovato/core"
)

// DeployManifestFile is the manifest a target keeps of its last complete
// deploy; DeployPartialFile lists what an unfinished deploy uploaded, so
// the next one resumes instead of starting over.
const (
	DeployManifestFile = ".trovato-deploy.json"
	DeployPartialFile  = ".trovato-deploy.partial.json"
)

// Target is where a deploy uploads an export: a local folder and rsync
// over SSH here; an object store (S3) implements the same five methods.
type Target interface {
	// ReadManifest returns the stored manifest called name
	// (DeployManifestFile or DeployPartialFile), or an empty one.
	ReadManifest(ctx context.Context, name string) (*Manifest, error)
	// WriteManifest stores m as name; DeployManifestFile is written last,
	// so it only ever describes a complete deploy.
	WriteManifest(ctx context.Context, name string, m *Manifest) error
	// Upload copies the files rels (slash paths) from the folder dir.
	Upload(ctx context.Context, dir string, rels []string) error
	// Remove deletes the files rels; missing ones are no error.
	Remove(ctx context.Context, rels []string) error
	// String names the target for messages.
	String() string
}

// DeployReport says what a deploy did (or, dry, would do).
type DeployReport struct {
	DryRun   bool     `json:"dry_run"`
	Uploaded []string `json:"uploaded"`
	Removed  []string `json:"removed"`
	Resumed  int      `json:"resumed"` // files an interrupted deploy had uploaded already
	Kept     int      `json:"kept"`    // files the target had
}

// DeployOptions configure Deploy.
type DeployOptions struct {
	DryRun bool
	// Batch is how many files go up between two records of progress;
	// default 200.
	Batch int
}

// Deploy uploads to t the files of the export in dir whose hashes differ
// from the target's last deploy, then removes the files the export no
// longer has, then stores the export's manifest on the target. Content
// (files, assets) goes before the pages that refer to it. An error leaves
// the target's previous manifest in place; what was uploaded is recorded
// so the next deploy resumes.
func Deploy(ctx context.Context, dir string, t Target, opts DeployOptions) (*DeployReport, error) {
	local, found, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, core.Errorf(core.EInvalid, "%s holds no export (run trovato export %s first)", dir, dir)
	}
	if opts.Batch <= 0 {
		opts.Batch = 200
	}
	cur, err := t.ReadManifest(ctx, DeployManifestFile)
	if err != nil {
		return nil, fmt.Errorf("deploy to %s: read its manifest: %w", t, err)
	}
	partial, err := t.ReadManifest(ctx, DeployPartialFile)
	if err != nil {
		return nil, fmt.Errorf("deploy to %s: read its partial manifest: %w", t, err)
	}
	rep := &DeployReport{DryRun: opts.DryRun}
	var up []string
	for _, rel := range local.Paths() {
		en := local.Files[rel]
		switch {
		case cur.Files[rel] != nil && cur.Files[rel].SHA256 == en.SHA256:
			rep.Kept++
		case partial.Files[rel] != nil && partial.Files[rel].SHA256 == en.SHA256:
			rep.Resumed++
		default:
			up = append(up, rel)
		}
	}
	// Files and assets first, pages last: a page never links to
	// something not uploaded yet.
	sort.SliceStable(up, func(i, j int) bool { return uploadRank(local.Files[up[i]]) < uploadRank(local.Files[up[j]]) })
	for rel := range cur.Files {
		if local.Files[rel] == nil {
			rep.Removed = append(rep.Removed, rel)
		}
	}
	sort.Strings(rep.Removed)
	if opts.DryRun {
		rep.Uploaded = up
		return rep, nil
	}
	for len(up) > 0 {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		n := min(opts.Batch, len(up))
		batch := up[:n]
		if err := t.Upload(ctx, dir, batch); err != nil {
			return rep, fmt.Errorf("deploy to %s: upload: %w (the previous deploy's manifest stays; run it again to resume)", t, err)
		}
		for _, rel := range batch {
			partial.Files[rel] = local.Files[rel]
		}
		if err := t.WriteManifest(ctx, DeployPartialFile, partial); err != nil {
			return rep, fmt.Errorf("deploy to %s: record progress: %w", t, err)
		}
		rep.Uploaded = append(rep.Uploaded, batch...)
		up = up[n:]
	}
	if len(rep.Removed) > 0 {
		if err := t.Remove(ctx, rep.Removed); err != nil {
			return rep, fmt.Errorf("deploy to %s: remove: %w", t, err)
		}
	}
	if err := t.WriteManifest(ctx, DeployManifestFile, local); err != nil {
		return rep, fmt.Errorf("deploy to %s: write its manifest: %w", t, err)
	}
	if err := t.Remove(ctx, []string{DeployPartialFile}); err != nil {
		return rep, fmt.Errorf("deploy to %s: %w", t, err)
	}
	return rep, nil
}

func uploadRank(en *Entry) int {
	switch en.Kind {
	case KindFile, KindAsset:
		return 0
	case KindPage, KindRedirect:
		return 1
	}
	return 2
}

// LocalTarget deploys into a folder on this machine (one a web server
// serves, or a mounted share). Every file is written through a rename.
type LocalTarget struct {
	Dir string
}

var _ Target = (*LocalTarget)(nil)

func (l *LocalTarget) String() string { return l.Dir }

func (l *LocalTarget) ReadManifest(_ context.Context, name string) (*Manifest, error) {
	raw, err := os.ReadFile(filepath.Join(l.Dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return newManifest(), nil
	} else if err != nil {
		return nil, err
	}
	return decodeManifest(raw)
}

func (l *LocalTarget) WriteManifest(_ context.Context, name string, m *Manifest) error {
	raw, err := m.encode()
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(l.Dir, name), raw)
}

func (l *LocalTarget) Upload(ctx context.Context, dir string, rels []string) error {
	for _, rel := range rels {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := realParents(l.Dir, rel); err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(l.Dir, filepath.FromSlash(rel)), b); err != nil {
			return err
		}
	}
	return nil
}

func (l *LocalTarget) Remove(_ context.Context, rels []string) error {
	for _, rel := range rels {
		if err := realParents(l.Dir, rel); err != nil {
			return err
		}
		p := filepath.Join(l.Dir, filepath.FromSlash(rel))
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removeEmptyParents(filepath.Clean(l.Dir), filepath.Dir(p))
	}
	return nil
}

// realParents refuses a file path inside root whose folders are not
// plain folders (a symlink would lead a write or a removal outside root).
// Missing folders are fine: they are made as folders.
func realParents(root, rel string) error {
	if !safeRel(rel) {
		return fmt.Errorf("%q is not a file path inside %s", rel, root)
	}
	dir := root
	segs := strings.Split(rel, "/")
	for _, seg := range segs[:len(segs)-1] {
		dir = filepath.Join(dir, seg)
		fi, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a folder (a symlink or a file); %s is not written through it", dir, rel)
		}
	}
	return nil
}

// RsyncTarget deploys with rsync, over SSH for a destination like
// user@host:/srv/www (or into a local path). Only the listed files move
// (--files-from); rsync writes each through a temporary file.
type RsyncTarget struct {
	Dest string // [user@]host:path, or a local path
	// Port and IdentityFile are given to ssh (the ssh program from
	// PATH) as -p and -i; zero values leave ssh's defaults.
	Port         int
	IdentityFile string
	// Rsync is the rsync binary; default "rsync".
	Rsync string
}

var _ Target = (*RsyncTarget)(nil)

func (r *RsyncTarget) String() string { return r.Dest }

func (r *RsyncTarget) run(ctx context.Context, stdin []byte, args ...string) error {
	if err := checkRsyncDest(r.Dest); err != nil {
		return err
	}
	bin := r.Rsync
	if bin == "" {
		bin = "rsync"
	}
	if err := checkSSHOptions(r.Port, r.IdentityFile); err != nil {
		return err
	}
	// The remote shell is always ssh (not RSYNC_RSH, never a command
	// from a document); rsync splits -e on spaces, and checkSSHOptions
	// keeps the identity file free of spaces and quotes.
	rsh := "ssh"
	if r.Port != 0 {
		rsh += " -p " + strconv.Itoa(r.Port)
	}
	if r.IdentityFile != "" {
		rsh += " -i " + r.IdentityFile
	}
	base := []string{"--recursive", "--times", "--perms", "--chmod=F644,D755", "-e", rsh}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		return fmt.Errorf("rsync: %v: %s", err, msg)
	}
	return nil
}

// checkRsyncDest refuses a destination rsync would read as an option
// (a leading '-') or that holds control characters, and a remote one
// whose user or host ssh could read as an option, an rsync daemon
// (host::module, rsync://) destination included.
func checkRsyncDest(dest string) error {
	if dest == "" || strings.HasPrefix(dest, "-") || strings.ContainsFunc(dest, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("rsync path %q must be [user@]host:path or a path, not starting with '-'", dest)
	}
	if strings.HasPrefix(dest, "rsync://") {
		return fmt.Errorf("rsync path %q: host must be [user@]host:path over ssh, not an rsync daemon URL", dest)
	}
	// rsync reads a ':' before any '/' as host:path.
	colon := strings.IndexByte(dest, ':')
	if colon < 0 || strings.Contains(dest[:colon], "/") {
		return nil
	}
	user, host := "", dest
	if at := strings.IndexByte(dest[:colon], '@'); at >= 0 {
		user, host = dest[:at], dest[at+1:]
	}
	var rest string
	if strings.HasPrefix(host, "[") {
		end := strings.Index(host, "]:")
		if end < 0 {
			return fmt.Errorf("rsync path %q: host [IPv6] must be followed by ':path'", dest)
		}
		host, rest = host[:end+1], host[end+2:]
	} else {
		i := strings.IndexByte(host, ':')
		host, rest = host[:i], host[i+1:]
	}
	if user != "" && !sshUserRE.MatchString(user) {
		return fmt.Errorf("rsync path %q: user %q must be letters, digits, '.', '_' or '-', not starting with '-'", dest, user)
	}
	if !sshHostRE.MatchString(host) {
		return fmt.Errorf("rsync path %q: host %q must be a host name or address, not starting with '-'", dest, host)
	}
	if strings.HasPrefix(rest, ":") {
		return fmt.Errorf("rsync path %q: host must be [user@]host:path over ssh, not an rsync daemon (host::module)", dest)
	}
	return nil
}

var (
	sshUserRE     = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$`)
	sshHostRE     = regexp.MustCompile(`^(?:[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]+\])$`)
	sshIdentityRE = regexp.MustCompile(`^/[A-Za-z0-9._/+@=-]{1,1000}$`)
)

// checkSSHOptions refuses a port outside 1-65535 and an identity file
// that is not an absolute path of letters, digits and ._/+@=- (rsync -e
// splits on spaces and reads quotes).
func checkSSHOptions(port int, identity string) error {
	if port < 0 || port > 65535 {
		return fmt.Errorf("ssh port %d must be between 1 and 65535", port)
	}
	if identity != "" && !sshIdentityRE.MatchString(identity) {
		return fmt.Errorf("ssh identity_file %q must be an absolute path of letters, digits and ._/+@=- (no spaces or quotes)", identity)
	}
	return nil
}

func (r *RsyncTarget) dest() string { return strings.TrimSuffix(r.Dest, "/") + "/" }

func (r *RsyncTarget) ReadManifest(ctx context.Context, name string) (*Manifest, error) {
	tmp, err := os.MkdirTemp("", "trovato-deploy-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// --ignore-missing-args: no manifest yet is an empty one.
	if err := r.run(ctx, nil, "--ignore-missing-args", r.dest()+name, tmp+"/"); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(tmp, name))
	if errors.Is(err, fs.ErrNotExist) {
		return newManifest(), nil
	} else if err != nil {
		return nil, err
	}
	return decodeManifest(raw)
}

func (r *RsyncTarget) WriteManifest(ctx context.Context, name string, m *Manifest) error {
	tmp, err := os.MkdirTemp("", "trovato-deploy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	raw, err := m.encode()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, name), raw, 0o644); err != nil {
		return err
	}
	return r.run(ctx, nil, filepath.Join(tmp, name), r.dest())
}

func (r *RsyncTarget) Upload(ctx context.Context, dir string, rels []string) error {
	return r.run(ctx, []byte(strings.Join(rels, "\n")+"\n"), "--files-from=-", strings.TrimSuffix(dir, "/")+"/", r.dest())
}

func (r *RsyncTarget) Remove(ctx context.Context, rels []string) error {
	// Listed files missing from an empty source are deleted at the
	// destination (--delete-missing-args).
	empty, err := os.MkdirTemp("", "trovato-deploy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(empty)
	return r.run(ctx, []byte(strings.Join(rels, "\n")+"\n"), "--files-from=-", "--delete-missing-args", empty+"/", r.dest())
}

// TargetConfig is a deploy_target config document (docs/export.md).
type TargetConfig struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	// Type is local or rsync.
	Type string `json:"type"`
	// Path is the folder (local) or [user@]host:path (rsync).
	Path string `json:"path"`
	// SSH holds the rsync target's ssh settings; the program is always
	// ssh from PATH, the user and host come from Path.
	SSH *SSHConfig `json:"ssh,omitempty"`
	// ExportDir is the export folder this target deploys.
	ExportDir string `json:"export_dir,omitempty"`
	// OnPublish exports and deploys after every publish (trovato serve).
	OnPublish bool `json:"on_publish,omitempty"`
}

// SSHConfig is the ssh part of an rsync deploy_target.
type SSHConfig struct {
	Port         int    `json:"port,omitempty"`
	IdentityFile string `json:"identity_file,omitempty"`
}

func (s *SSHConfig) UnmarshalJSON(b []byte) error {
	type plain SSHConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode((*plain)(s)); err != nil {
		return errors.New("ssh must be {port, identity_file} (the program is always ssh from PATH; user@host go in path), not a command or other keys")
	}
	return nil
}

// ParseTarget reads a deploy_target document into a Target. It returns
// EINVALID for a document that is not one.
func ParseTarget(body []byte) (*TargetConfig, Target, error) {
	var c TargetConfig
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, nil, core.Errorf(core.EInvalid, "deploy target %s: %s", c.Name, err)
	}
	if c.Path == "" {
		return nil, nil, core.Errorf(core.EInvalid, "deploy target %s: path is required", c.Name)
	}
	switch c.Type {
	case "local":
		if c.SSH != nil {
			return nil, nil, core.Errorf(core.EInvalid, "deploy target %s: ssh is for type rsync only", c.Name)
		}
		if !filepath.IsAbs(c.Path) {
			return nil, nil, core.Errorf(core.EInvalid, "deploy target %s: path %q must be absolute", c.Name, c.Path)
		}
		return &c, &LocalTarget{Dir: c.Path}, nil
	case "rsync":
		if err := checkRsyncDest(c.Path); err != nil {
			return nil, nil, core.Errorf(core.EInvalid, "deploy target %s: %s", c.Name, err)
		}
		r := &RsyncTarget{Dest: c.Path}
		if c.SSH != nil {
			if c.SSH.Port == 0 && c.SSH.IdentityFile == "" {
				return nil, nil, core.Errorf(core.EInvalid, "deploy target %s: ssh needs port or identity_file", c.Name)
			}
			if err := checkSSHOptions(c.SSH.Port, c.SSH.IdentityFile); err != nil {
				return nil, nil, core.Errorf(core.EInvalid, "deploy target %s: %s", c.Name, err)
			}
			r.Port, r.IdentityFile = c.SSH.Port, c.SSH.IdentityFile
		}
		return &c, r, nil
	}
	return nil, nil, core.Errorf(core.EInvalid, "deploy target %s: type %q is not local or rsync", c.Name, c.Type)
}
