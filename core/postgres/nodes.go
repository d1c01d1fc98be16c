package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/trovato/trovato/core"
)

// NodeLiveness is how recently a node must have been seen to count as
// alive.
const NodeLiveness = 30 * time.Second

// Node is one running server process.
type Node struct {
	ID        core.ID   `json:"id"`
	Hostname  string    `json:"hostname"`
	PID       int       `json:"pid"`
	Addr      string    `json:"addr"`
	RedisID   string    `json:"redis_id"`
	StartedAt time.Time `json:"started_at"`
	SeenAt    time.Time `json:"seen_at"`
}

// RegisterNode records a starting node. It refuses (EINVALID, naming the
// problem) when a live node uses another Redis, or none while this one has
// one (or the other way round): caches and sessions would split.
func (s *Store) RegisterNode(ctx context.Context, n *Node) error {
	return s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('trovato.nodes'))`); err != nil {
			return TranslateError(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM node WHERE seen_at < now() - $1::interval`, fmt.Sprintf("%d seconds", int(4*NodeLiveness/time.Second))); err != nil {
			return TranslateError(err)
		}
		rows, err := tx.Query(ctx, `SELECT hostname, pid, redis_id FROM node WHERE seen_at >= now() - $1::interval`, fmt.Sprintf("%d seconds", int(NodeLiveness/time.Second)))
		if err != nil {
			return TranslateError(err)
		}
		for rows.Next() {
			var host, rid string
			var pid int
			if err := rows.Scan(&host, &pid, &rid); err != nil {
				rows.Close()
				return err
			}
			if rid != n.RedisID {
				rows.Close()
				switch {
				case rid == "":
					return core.Errorf(core.EInvalid, "node %s (pid %d) runs without Redis; stop it, or start every node with the same REDIS_URL", host, pid)
				case n.RedisID == "":
					return core.Errorf(core.EInvalid, "node %s (pid %d) uses Redis %s; start this node with the same REDIS_URL", host, pid, rid)
				}
				return core.Errorf(core.EInvalid, "node %s (pid %d) uses another Redis (%s, this one is %s); every node needs the same REDIS_URL", host, pid, rid, n.RedisID)
			}
		}
		rows.Close()
		if n.ID == core.NilID {
			n.ID = core.NewID()
		}
		_, err = tx.Exec(ctx, `INSERT INTO node (id, hostname, pid, addr, redis_id) VALUES ($1, $2, $3, $4, $5)`, n.ID, n.Hostname, n.PID, n.Addr, n.RedisID)
		return TranslateError(err)
	})
}

// NodeSeen refreshes a node's heartbeat.
func (s *Store) NodeSeen(ctx context.Context, id core.ID) error {
	_, err := s.pool.Exec(ctx, `UPDATE node SET seen_at = now() WHERE id = $1`, id)
	return TranslateError(err)
}

// UnregisterNode removes a stopping node.
func (s *Store) UnregisterNode(ctx context.Context, id core.ID) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM node WHERE id = $1`, id)
	return TranslateError(err)
}

// FindNodes lists the live nodes.
func (s *Store) FindNodes(ctx context.Context) ([]*Node, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, hostname, pid, addr, redis_id, started_at, seen_at FROM node
		WHERE seen_at >= now() - $1::interval ORDER BY started_at`, fmt.Sprintf("%d seconds", int(NodeLiveness/time.Second)))
	if err != nil {
		return nil, fmt.Errorf("find nodes: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*Node
	for rows.Next() {
		n := &Node{}
		if err := rows.Scan(&n.ID, &n.Hostname, &n.PID, &n.Addr, &n.RedisID, &n.StartedAt, &n.SeenAt); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
