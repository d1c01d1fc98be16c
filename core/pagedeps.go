package core

import "context"

// PageDeps records which cache tags each rendered page used, so the static
// export and cache invalidation can ask which pages depend on a tag even
// after a restart or a cache flush. The page cache records a page each
// time it builds one; a later record of the same path replaces the tags.
type PageDeps interface {
	// Record notes that the page at path (root-relative, with its query
	// string if any) was built from tags. Implementations may batch writes
	// and apply them after Record returns (Flush waits for them).
	// EInvalid for a path that is not root-relative or over 2048 bytes.
	Record(ctx context.Context, path string, tags []string) error
	// PagesFor returns the paths of the pages that used any of tags,
	// sorted. A page that used a kind's list tag (item:*) is returned only
	// when tags holds that list tag: pass every tag a change bumps
	// (TagsForChange).
	PagesFor(ctx context.Context, tags []string) ([]string, error)
	// PageTags returns the tags the page at path was last built from;
	// ENotFound when it was never recorded.
	PageTags(ctx context.Context, path string) ([]string, error)
	// Flush writes every record made so far.
	Flush(ctx context.Context) error
}
