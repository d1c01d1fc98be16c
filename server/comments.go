package server

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// Comment posting limits, per signed-in user (or anonymous visitor) and
// client address.
const (
	commentBurst  = 5
	commentWindow = time.Minute
)

// commentTag is the cache tag of an item's comments; the change feed's
// comment rows (core.KindComment, entity id = the item) bump it.
func commentTag(item core.ID) string { return core.EntityTag(core.KindComment, item.String()) }

// commentType is the item type whose comment settings apply to it: nil
// (the defaults) when the type was deleted.
func (s *Server) commentType(st *reqState, it *core.Item) (*core.ItemType, error) {
	typ, err := s.itemType(st, it.Type)
	if core.ErrorCode(err) == core.ENotFound {
		return nil, nil
	}
	return typ, err
}

// loadCommentType is commentType for a request that has not loaded the
// item's type yet: the document is read with the page's other data
// (s.load) and parsed once per version.
func (s *Server) loadCommentType(ctx context.Context, st *reqState, it *core.Item) (*core.ItemType, error) {
	k := postgres.ConfigKey{Kind: "item_type", Name: it.Type}
	if st.data == nil || st.data.Configs[k] == nil {
		if err := s.load(ctx, st, postgres.PageQuery{Configs: []postgres.ConfigKey{k}}); err != nil {
			return nil, err
		}
	}
	return s.commentType(st, it)
}

// commentCount is how a listing or the item page says n comments.
func commentCount(n int) string {
	switch n {
	case 0:
		return "No comments yet"
	case 1:
		return "1 comment"
	}
	return itoa(n) + " comments"
}

// commentsSection is an item's published comments, threaded, with their
// count, then the comment form's island when its type has comments open
// ("Comments are closed." when closed); nothing when hidden. The item's
// type must be loaded (st.data).
func (s *Server) commentsSection(ctx context.Context, st *reqState, it *core.Item) ([]core.Node, error) {
	typ, err := s.commentType(st, it)
	if err != nil {
		return nil, err
	}
	mode := typ.CommentMode()
	if mode == core.CommentsHidden {
		return nil, nil
	}
	s.depend(ctx, st, commentTag(it.ID))
	comments, err := s.findComments(ctx, st, it.ID)
	if err != nil {
		return nil, err
	}
	children := map[core.ID][]*postgres.Comment{}
	var roots []*postgres.Comment
	for _, c := range comments {
		if c.ParentID != nil {
			children[*c.ParentID] = append(children[*c.ParentID], c)
		} else {
			roots = append(roots, c)
		}
	}
	// Visible are the comments reachable from the roots: the replies of
	// an unpublished comment are hidden with it (postgres.CountComments
	// counts the same for listings).
	visible := 0
	var list func(cs []*postgres.Comment, depth int) core.Node
	list = func(cs []*postgres.Comment, depth int) core.Node {
		n := core.Node{Type: core.ElemList, Attrs: map[string]string{"class": "comments__list"}}
		for i, c := range cs {
			visible++
			item := core.Node{Type: core.ElemContainer, Tag: "article", Weight: i, Attrs: map[string]string{"class": "comment", "id": "comment-" + c.ID.String()},
				Children: []core.Node{
					{Type: core.ElemParagraph, Attrs: map[string]string{"class": "comment__meta"}, Children: []core.Node{
						{Type: core.ElemText, Text: c.AuthorName + " · "},
						{Type: core.ElemTime, Datetime: c.CreatedAt.UTC().Format(time.RFC3339), Text: c.CreatedAt.UTC().Format("2 January 2006, 15:04 MST")},
					}},
					{Type: core.ElemText, Format: core.FormatPlain, Text: c.Body},
				}}
			if kids := children[c.ID]; len(kids) > 0 {
				if depth < 8 {
					item.Children = append(item.Children, list(kids, depth+1))
				} else {
					visible += countBelow(kids, children)
				}
			}
			n.Items = append(n.Items, item)
		}
		return n
	}
	var thread core.Node
	if len(roots) > 0 {
		thread = list(roots, 0)
	}
	sec := core.Node{Type: core.ElemContainer, Tag: "section", Weight: 1000, Attrs: map[string]string{"class": "comments", "id": "comments"},
		Children: []core.Node{{Type: core.ElemHeading, Level: 2, Text: commentCount(visible)}}}
	if len(roots) > 0 {
		sec.Children = append(sec.Children, thread)
	}
	if mode == core.CommentsClosed {
		sec.Children = append(sec.Children, core.Node{Type: core.ElemParagraph, Attrs: map[string]string{"class": "comments__closed"}, Text: "Comments are closed."})
	} else {
		sec.Children = append(sec.Children, core.Node{Type: core.ElemIsland, Name: "comment-form", Href: "/user/login", Text: "Sign in to comment",
			Attrs: map[string]string{"class": "comment-form"}})
	}
	return []core.Node{sec}, nil
}

// countBelow counts the comments in the threads of cs (nested deeper
// than the page shows).
func countBelow(cs []*postgres.Comment, children map[core.ID][]*postgres.Comment) int {
	n := len(cs)
	for _, c := range cs {
		n += countBelow(children[c.ID], children)
	}
	return n
}

// commentCounts are the comment counts a listing shows, by item.
type commentCounts map[core.ID]int

// listingComments reads the comment counts of the items a listing shows,
// in one query for the page, and records that the page depends on each
// item's comments (comment:ID, which the change feed's comment rows bump
// when a comment on it is published, unpublished, edited or deleted).
// Items of types with hidden comments, and items without comments, get
// no count.
func (s *Server) listingComments(ctx context.Context, st *reqState, items []*core.Item) (commentCounts, error) {
	if len(items) == 0 {
		return nil, nil
	}
	ids := make([]core.ID, 0, len(items))
	tags := make([]string, 0, len(items))
	var types []postgres.ConfigKey
	for _, it := range items {
		ids = append(ids, it.ID)
		tags = append(tags, commentTag(it.ID))
		k := postgres.ConfigKey{Kind: "item_type", Name: it.Type}
		if st.data == nil || st.data.Configs[k] == nil {
			if !slices.Contains(types, k) {
				types = append(types, k)
			}
		}
	}
	// The tags' versions are read before the counts.
	s.depend(ctx, st, tags...)
	if len(types) > 0 {
		if err := s.load(ctx, st, postgres.PageQuery{Configs: types}); err != nil {
			return nil, err
		}
	}
	n, err := s.countComments(ctx, st, ids)
	if err != nil {
		return nil, err
	}
	out := make(commentCounts, len(n))
	for _, it := range items {
		if n[it.ID] == 0 {
			continue
		}
		typ, err := s.commentType(st, it)
		if err != nil {
			return nil, err
		}
		if typ.CommentMode() != core.CommentsHidden {
			out[it.ID] = n[it.ID]
		}
	}
	return out, nil
}

// node is the count of an item's comments as a link to them on its page
// (a teaser's last line); false when the item shows none.
func (c commentCounts) node(id core.ID) (core.Node, bool) {
	n := c[id]
	if n == 0 {
		return core.Node{}, false
	}
	return core.Node{Type: core.ElemParagraph, Attrs: map[string]string{"class": "teaser__comments"},
		Children: []core.Node{{Type: core.ElemLink, Href: itemPath(id) + "#comments", Text: commentCount(n)}}}, true
}

// withCount appends an item's comment count to its teaser.
func (c commentCounts) withCount(teaser core.Node, id core.ID) core.Node {
	if n, ok := c.node(id); ok {
		teaser.Children = append(teaser.Children, n)
	}
	return teaser
}

// Fields of the comment form. commentTrapField is the honeypot: hidden
// from people by the theme (and labelled "leave this empty" where CSS is
// off), filled in by form-filling robots.
const (
	commentNameField  = "name"
	commentEmailField = "email"
	commentTrapField  = "homepage"
)

// anonymousComments reports whether visitors without an account may
// comment (the anonymous role holds comments.anonymous).
func (s *Server) anonymousComments(ctx context.Context) bool {
	ok, err := s.k.Store.Authorizer().HasPermission(ctx, core.Anonymous, core.PermPostAnonymousComments)
	if err != nil {
		s.log.Warn("comments: reading the anonymous role's permissions failed", "err", err)
	}
	return ok
}

// commentForm is the comment form island: a POST form with the session's
// CSRF token for a signed-in visitor; for an anonymous visitor, when the
// site and the item's type let them comment, the same form with a name,
// an optional e-mail and the honeypot (this starts their session: the
// token is bound to it), otherwise the sign-in link. "Comments are
// closed." when the item's type has comments closed or hidden.
func (s *Server) commentForm(w http.ResponseWriter, r *http.Request, st *reqState) ([]core.Node, error) {
	signIn := []core.Node{{Type: core.ElemLink, Href: "/user/login", Text: "Sign in to comment"}}
	anonymous := st.sess == nil || st.user.IsAnonymous()
	siteAllows := anonymous && s.anonymousComments(r.Context())
	if anonymous && !siteAllows {
		return signIn, nil
	}
	p := r.URL.Query().Get("path")
	internal := p
	if _, _, ok := parseInternal(p); !ok {
		in, _, err := s.k.Store.Site().ResolveAlias(r.Context(), core.LiveStageID, p)
		if err != nil {
			return nil, core.Errorf(core.ENotFound, "no item at this path")
		}
		internal = in
	}
	kind, id, ok := parseInternal(internal)
	if !ok || kind != "item" {
		return nil, core.Errorf(core.ENotFound, "no item at this path")
	}
	it, err := s.k.Store.Items().FindItemByID(r.Context(), core.LiveStageID, id)
	if err != nil {
		if code := core.ErrorCode(err); code == core.ENotFound || code == core.EForbidden || code == core.EUnauthorized {
			return nil, core.Errorf(core.ENotFound, "no item at this path")
		}
		return nil, err
	}
	typ, err := s.loadCommentType(r.Context(), st, it)
	if err != nil {
		return nil, err
	}
	if typ.CommentMode() != core.CommentsOpen {
		return []core.Node{{Type: core.ElemParagraph, Text: "Comments are closed."}}, nil
	}
	if anonymous && !typ.AnonymousComments(siteAllows) {
		return signIn, nil
	}
	sess := st.sess
	if anonymous {
		var err error
		if sess, err = s.formSession(w, r, st); err != nil {
			return nil, err
		}
	}
	form := core.Node{Type: core.ElemForm, Method: "post", Action: "/comment/" + id.String(), Children: []core.Node{
		{Type: core.ElemHidden, Name: CSRFField, Value: sess.NewCSRFToken()},
	}}
	if anonymous {
		form.Children = append(form.Children,
			core.Node{Type: core.ElemInput, InputType: "text", Name: commentNameField, Label: "Your name", Required: true, MaxLength: postgres.CommentNameMaxChars},
			core.Node{Type: core.ElemInput, InputType: "email", Name: commentEmailField, Label: "E-mail (optional, not shown)", MaxLength: postgres.CommentEmailMaxBytes},
			core.Node{Type: core.ElemInput, InputType: "text", Name: commentTrapField, Label: "Leave this field empty",
				Attrs: map[string]string{"class": "comment-form__trap", "tabindex": "-1", "autocomplete": "off"}},
		)
	}
	form.Children = append(form.Children,
		core.Node{Type: core.ElemTextarea, Name: "body", Label: "Your comment", Required: true, Rows: 5, MaxLength: postgres.CommentMaxBytes},
		core.Node{Type: core.ElemButton, Text: "Post comment"},
	)
	out := []core.Node{s.pluginForm(r.Context(), st, "comment", form)}
	if anonymous {
		out = append([]core.Node{{Type: core.ElemParagraph, Children: []core.Node{
			{Type: core.ElemText, Text: "Comments from visitors without an account appear after review. "},
			{Type: core.ElemLink, Href: "/user/login", Text: "Sign in"},
		}}}, out...)
	}
	return out, nil
}

// postComment stores a comment (POST /comment/{id}, CSRF checked by the
// middleware) when the item's type has comments open (403 otherwise):
// published for comment moderators, pending moderation otherwise;
// anonymous visitors only when the site and the item's type let them
// (401 otherwise), always pending. At most commentBurst a minute per user (or, anonymous, per
// address) and address.
func (s *Server) postComment(w http.ResponseWriter, r *http.Request, st *reqState) error {
	id, err := core.ParseID(r.PathValue("id"))
	if err != nil || id.String() != r.PathValue("id") {
		return core.Errorf(core.ENotFound, "page not found")
	}
	anonymous := st.user.IsAnonymous()
	if anonymous && !s.anonymousComments(r.Context()) {
		return core.Errorf(core.EUnauthorized, "Sign in to comment.")
	}
	who := "anon"
	if !anonymous {
		who = st.user.ID.String()
	}
	ok, _, err := s.limiter.Allow(r.Context(), "comment:"+who+":"+s.clientIP(r), commentBurst, commentWindow)
	if err == nil && !ok {
		s.metrics.rateLimited.WithLabelValues("comment").Inc()
		w.Header().Set("Retry-After", "60")
		return core.Errorf(core.ERateLimit, "Too many comments. Please wait a minute.")
	}
	if err := r.ParseForm(); err != nil {
		return core.Errorf(core.EInvalid, "The form is malformed.")
	}
	if r.PostForm.Get(commentTrapField) != "" {
		return core.Errorf(core.EInvalid, "The comment was refused: a field meant to stay empty was filled in.")
	}
	if errs := s.pluginFormValidate(r, st, "comment"); errs != nil {
		return core.InvalidFields("The comment was refused: "+errs[0].Message, errs)
	}
	c := &postgres.Comment{ItemID: id, Body: r.PostForm.Get("body")}
	if anonymous {
		c.AuthorName, c.AuthorEmail = r.PostForm.Get(commentNameField), r.PostForm.Get(commentEmailField)
	}
	if p := r.PostForm.Get("parent"); p != "" {
		pid, err := core.ParseID(p)
		if err != nil {
			return core.Errorf(core.EInvalid, "The comment to reply to is unknown.")
		}
		c.ParentID = &pid
	}
	ctx := core.NewContextWithClientAddr(r.Context(), s.clientIP(r))
	if err := s.k.Store.CreateComment(ctx, c); err != nil {
		return err
	}
	if c.Status == postgres.CommentPublished {
		s.bumpComments(r.Context(), id)
	}
	http.Redirect(w, r, itemPath(id)+"#comments", http.StatusSeeOther)
	return nil
}

// bumpComments invalidates the cached pages showing an item's comments on
// this node at once (the change feed tells the others).
func (s *Server) bumpComments(ctx context.Context, item core.ID) {
	if s.tags == nil {
		return
	}
	if err := s.tags.BumpTags(ctx, commentTag(item)); err != nil {
		s.log.Warn("page cache: bumping comment tag failed", "err", err)
	}
}

// ModerateComment publishes or unpublishes a comment as the user in ctx
// (comments.administer) and invalidates the pages that show it.
func (s *Server) ModerateComment(ctx context.Context, id core.ID, status string) error {
	c, err := s.k.Store.SetCommentStatus(ctx, id, status)
	if err != nil {
		return err
	}
	s.bumpComments(ctx, c.ItemID)
	return nil
}
