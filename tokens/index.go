package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/nats-io/nats.go/jetstream"
)

// WatchOptions configure the search index a gateway keeps.
type WatchOptions struct {
	// Dir holds the index files; it is emptied first, as the index is rebuilt from
	// the token bucket at every start. Empty means a temporary directory.
	Dir string
	// SweepEvery is how often expired tokens are deleted (default one minute;
	// Basis Theory deletes them up to an hour after they expire).
	SweepEvery time.Duration
	Logger     *slog.Logger
}

// ErrNoIndex is returned by List and Search before Watch started the index.
var ErrNoIndex = errors.New("tokens: the search index is not running")

// index is a bleve index of the token records' searchable fields, one document per
// record key, kept current from the bucket by one watcher that applies changes in
// the bucket's order, in batches. It never holds token data: only the blind indexes
// (keyed hashes) of the evaluated search_indexes.
type index struct {
	bi bleve.Index
	mu sync.Mutex
	// applied is the revision of the last change applied; caught is closed (and
	// replaced) whenever it grows.
	applied uint64
	caught  chan struct{}
	// closed is closed once the index is, after Watch's ctx ended; shut says so
	// under mu.
	closed chan struct{}
	shut   bool
}

// maxCatchUp bounds how long a search waits for this gateway's own writes to reach
// the index before it answers from the index as it is.
const maxCatchUp = 5 * time.Second

// waitFor returns once the index applied revision rev, ctx ended or maxCatchUp
// passed.
func (ix *index) waitFor(ctx context.Context, rev uint64) {
	timeout := time.NewTimer(maxCatchUp)
	defer timeout.Stop()
	for {
		ix.mu.Lock()
		applied, caught := ix.applied, ix.caught
		ix.mu.Unlock()
		if applied >= rev {
			return
		}
		select {
		case <-caught:
		case <-ctx.Done():
			return
		case <-timeout.C:
			return
		}
	}
}

// add puts a watched change into a batch.
func add(batch *bleve.Batch, e jetstream.KeyValueEntry) {
	if rec, ok := decodeRecord(e); ok {
		batch.Index(e.Key(), document(rec))
	} else {
		batch.Delete(e.Key())
	}
}

// commit applies a batch and records the revision it reached.
func (ix *index) commit(batch *bleve.Batch, rev uint64) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.shut {
		return nil
	}
	err := ix.bi.Batch(batch)
	batch.Reset()
	if rev > ix.applied {
		ix.applied = rev
		close(ix.caught)
		ix.caught = make(chan struct{})
	}
	return err
}

// farFuture stands for "never expires"; bleve's dates end in 2262.
var farFuture = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

func newMapping() mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	m.DefaultAnalyzer = keyword.Name // metadata.* are dynamic fields
	m.StoreDynamic, m.DocValuesDynamic = false, false
	dm := bleve.NewDocumentMapping()
	for _, f := range []string{"tenant", "id", "type", "fingerprint", "container", "data", "created_by", "modified_by"} {
		fm := bleve.NewKeywordFieldMapping()
		fm.Store, fm.IncludeInAll, fm.DocValues, fm.IncludeTermVectors = false, false, false, false
		dm.AddFieldMappingsAt(f, fm)
	}
	for _, f := range []string{"created_at", "modified_at", "expires_at"} {
		fm := bleve.NewDateTimeFieldMapping()
		fm.Store, fm.IncludeInAll = false, false
		fm.DocValues = f == "created_at" // the sort order
		dm.AddFieldMappingsAt(f, fm)
	}
	m.DefaultMapping = dm
	return m
}

func document(rec *record) map[string]any {
	exp := farFuture
	if rec.ExpiresAt != nil && rec.ExpiresAt.Before(farFuture) {
		exp = *rec.ExpiresAt
	}
	md := make(map[string]any, len(rec.Metadata))
	for k, v := range rec.Metadata {
		md[k] = strings.ToLower(v)
	}
	d := map[string]any{"tenant": rec.TenantID, "id": rec.ID, "type": rec.Type, "fingerprint": rec.Fingerprint,
		"container": rec.Containers, "data": rec.Blind, "created_by": rec.CreatedBy, "created_at": rec.CreatedAt,
		"expires_at": exp, "metadata": md}
	if rec.ModifiedBy != "" {
		d["modified_by"] = rec.ModifiedBy
	}
	if rec.ModifiedAt != nil {
		d["modified_at"] = *rec.ModifiedAt
	}
	return d
}

// Watch builds the search index from the token bucket, keeps it current from the
// bucket's changes (every gateway holds its own) and deletes expired tokens
// periodically, until ctx ends. It returns once the index holds every token.
func (s *Store) Watch(ctx context.Context, o WatchOptions) error {
	if o.SweepEvery <= 0 {
		o.SweepEvery = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	dir := o.Dir
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "reactord-tokens-index-"); err != nil {
			return fmt.Errorf("tokens: index: %w", err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("tokens: index: %w", err)
	}
	// Durability is the bucket's job (the index is rebuilt from it at each start), so
	// writes do not wait for the index to reach the disk.
	bi, err := bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, map[string]any{"unsafe_batch": true})
	if err != nil {
		return fmt.Errorf("tokens: index: %w", err)
	}
	ix := &index{bi: bi, caught: make(chan struct{}), closed: make(chan struct{})}
	w, err := s.kv.Watch(ctx, "t.>")
	if err != nil {
		bi.Close()
		return fmt.Errorf("tokens: watch: %w", err)
	}
	// The initial values, in batches, until the watcher says it is caught up.
	batch := bi.NewBatch()
	var last uint64
	for e := range w.Updates() {
		if e == nil {
			break
		}
		if _, ok := decodeRecord(e); ok {
			add(batch, e)
		}
		last = e.Revision()
		if batch.Size() >= 1000 {
			if err := ix.commit(batch, last); err != nil {
				w.Stop()
				bi.Close()
				return fmt.Errorf("tokens: index: %w", err)
			}
		}
	}
	if err := ix.commit(batch, last); err != nil {
		w.Stop()
		bi.Close()
		return fmt.Errorf("tokens: index: %w", err)
	}
	s.ix.Store(ix)
	// Then every change, batching whatever has queued up meanwhile.
	go func() {
		updates := w.Updates()
		for e := range updates {
			if e == nil {
				continue
			}
			add(batch, e)
			last := e.Revision()
			for len(updates) > 0 && batch.Size() < 1000 {
				if e = <-updates; e != nil {
					add(batch, e)
					last = e.Revision()
				}
			}
			if err := ix.commit(batch, last); err != nil {
				o.Logger.Error("token index update failed", "error", err)
			}
		}
	}()
	go func() {
		t := time.NewTicker(o.SweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				w.Stop()
				s.ix.CompareAndSwap(ix, nil)
				ix.mu.Lock()
				ix.shut = true
				bi.Close()
				ix.mu.Unlock()
				if o.Dir == "" {
					os.RemoveAll(dir)
				}
				close(ix.closed)
				return
			case <-t.C:
				if n, err := s.Sweep(ctx); err != nil {
					o.Logger.Warn("deleting expired tokens failed", "error", err)
				} else if n > 0 {
					o.Logger.Info("deleted expired tokens", "count", n)
				}
			}
		}
	}()
	return nil
}

// decodeRecord returns the record a watched entry holds, or false for a deletion.
func decodeRecord(e jetstream.KeyValueEntry) (*record, bool) {
	if e.Operation() != jetstream.KeyValuePut {
		return nil, false
	}
	var rec record
	if json.Unmarshal(e.Value(), &rec) != nil {
		return nil, false
	}
	return &rec, true
}

// wrote notes a change this gateway made to the bucket at revision rev: its
// searches wait for the index to reach it, so that callers read their own writes.
func (s *Store) wrote(rev uint64) {
	for {
		cur := s.written.Load()
		if rev <= cur || s.written.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// search runs a bleve query restricted to the tenant's live tokens and returns one
// page of record keys, newest first, with the total count.
func (s *Store) search(ctx context.Context, tenantID string, q query.Query, page, size int) ([]string, int, error) {
	ix := s.ix.Load()
	if ix == nil {
		return nil, 0, ErrNoIndex
	}
	ix.waitFor(ctx, s.written.Load())
	tq := query.NewTermQuery(tenantID)
	tq.SetField("tenant")
	live := query.NewDateRangeInclusiveQuery(s.now(), time.Time{}, boolPtr(false), nil)
	live.SetField("expires_at")
	req := bleve.NewSearchRequestOptions(query.NewConjunctionQuery([]query.Query{tq, live, q}), size, (page-1)*size, false)
	req.SortBy([]string{"-created_at", "_id"})
	res, err := ix.bi.SearchInContext(ctx, req)
	if err != nil {
		return nil, 0, fmt.Errorf("tokens: search: %w", err)
	}
	keys := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		keys[i] = h.ID
	}
	return keys, int(res.Total), nil
}

func boolPtr(b bool) *bool { return &b }

// Page is one page of tokens with the total that matched.
type Page struct {
	Tokens []*Token
	Total  int
}

// fetch reads the tokens behind a page of record keys, in order. A token deleted
// since the index saw it is left out.
func (s *Store) fetch(ctx context.Context, keys []string) ([]*Token, error) {
	out := make([]*Token, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, k := range keys {
		parts := strings.SplitN(k, ".", 3)
		if len(parts) != 3 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = s.Get(ctx, parts[1], parts[2])
		}()
	}
	wg.Wait()
	live := out[:0]
	for i, t := range out {
		switch {
		case errs[i] == nil && t != nil:
			live = append(live, t)
		case errs[i] != nil && !errors.Is(errs[i], ErrNotFound):
			return nil, errs[i]
		}
	}
	return live, nil
}

// Sweep deletes the expired tokens the index knows of and returns how many it
// deleted. Watch runs it periodically; a token changed meanwhile is left alone.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	ix := s.ix.Load()
	if ix == nil {
		return 0, ErrNoIndex
	}
	ix.waitFor(ctx, s.written.Load())
	q := query.NewDateRangeInclusiveQuery(time.Time{}, s.now(), nil, boolPtr(true))
	q.SetField("expires_at")
	n := 0
	for {
		res, err := ix.bi.SearchInContext(ctx, bleve.NewSearchRequestOptions(q, 500, 0, false))
		if err != nil {
			return n, fmt.Errorf("tokens: sweep: %w", err)
		}
		if len(res.Hits) == 0 {
			return n, nil
		}
		round := 0
		for _, h := range res.Hits {
			deleted, err := s.deleteExpired(ctx, h.ID)
			if err != nil {
				return n, err
			}
			if deleted {
				round++
			}
		}
		if n += round; round == 0 || len(res.Hits) < 500 {
			return n, nil
		}
	}
}

// deleteExpired deletes the record at key if it is still expired.
func (s *Store) deleteExpired(ctx context.Context, key string) (bool, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tokens: sweep: %w", err)
	}
	rec, ok := decodeRecord(e)
	if !ok || rec.ExpiresAt == nil || rec.ExpiresAt.After(s.now()) {
		return false, nil
	}
	if err := s.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil {
		return false, nil // changed meanwhile: the next sweep sees it again
	}
	s.wrote(e.Revision() + 1) // the deletion's revision is later
	s.dropFingerprint(ctx, rec)
	return true, nil
}

// dropFingerprint removes the deduplication entry of a deleted token if it is
// still the one the entry names.
func (s *Store) dropFingerprint(ctx context.Context, rec *record) {
	ix := fingerprintIndex(rec.TenantID, rec.Type, rec.Fingerprint)
	if ie, err := s.kv.Get(ctx, ix); err == nil && string(ie.Value()) == rec.ID {
		s.kv.Delete(ctx, ix, jetstream.LastRevision(ie.Revision()))
	}
}
