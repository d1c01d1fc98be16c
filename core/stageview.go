package core

import "context"

type stageViewKey struct{}

// NewContextWithStageView returns a context in which the stage with id may
// be viewed whatever the user: the static export of a stage renders it as
// an anonymous visitor will see it once it is published. Only Go code sets
// it (server.Options.Stage); nothing in a request can.
func NewContextWithStageView(ctx context.Context, id ID) context.Context {
	return context.WithValue(ctx, stageViewKey{}, id)
}

// stageViewAllowed reports whether ctx may view stage id
// (NewContextWithStageView).
func stageViewAllowed(ctx context.Context, id ID) bool {
	v, ok := ctx.Value(stageViewKey{}).(ID)
	return ok && v == id && id != NilID
}
