package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/expr"
)

// batchTimeout bounds one batched read; it is JetStream's default API timeout.
const batchTimeout = 5 * time.Second

// batcher reads many token records at once: one JetStream direct get per record, all
// published before any answer is awaited, asking for the records without their
// stored headers. Records are written with headers (the expected-revision checks of
// create and update), and the server copies and extends those on every read that
// returns them; a multi-subject direct get (multi_last) always does, and costs more
// than the pipelined single gets. Answers arrive on one wildcard inbox
// subscription, made on first use and kept for the connection's life, and are routed
// to the waiting read by the reply subject's last two tokens (read, record).
type batcher struct {
	nc *nats.Conn
	// subject is the bucket stream's direct get subject (with the API prefix).
	subject string
	once    sync.Once
	subErr  error
	inbox   string // "<inbox>."; replies go to inbox + "<read>.<record>"
	next    atomic.Uint64
	mu      sync.Mutex
	waiting map[string]chan *nats.Msg
}

// newBatcher returns a batcher for the bucket behind kv, or nil when the bucket does
// not answer direct gets (reads then go one by one).
func newBatcher(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue) *batcher {
	st, err := kv.Status(ctx)
	if err != nil {
		return nil
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok || bs.StreamInfo() == nil || !bs.StreamInfo().Config.AllowDirect {
		return nil
	}
	o := js.Options()
	prefix := "$JS.API."
	switch {
	case o.APIPrefix != "":
		prefix = strings.TrimSuffix(o.APIPrefix, ".") + "."
	case o.Domain != "":
		prefix = "$JS." + o.Domain + ".API."
	}
	return &batcher{nc: js.Conn(), subject: prefix + "DIRECT.GET." + bs.StreamInfo().Config.Name,
		waiting: map[string]chan *nats.Msg{}}
}

func (b *batcher) subscribe() error {
	b.once.Do(func() {
		b.inbox = b.nc.NewInbox() + "."
		_, b.subErr = b.nc.Subscribe(b.inbox+"*.*", func(m *nats.Msg) {
			read, _, _ := strings.Cut(m.Subject[len(b.inbox):], ".")
			b.mu.Lock()
			ch := b.waiting[read]
			b.mu.Unlock()
			if ch != nil {
				select {
				case ch <- m:
				default: // more answers than asked for: the read fails on its own
				}
			}
		})
	})
	return b.subErr
}

// kvSubject is a record key's subject in the bucket stream.
func kvSubject(key string) string { return "$KV." + Bucket + "." + key }

// directGetRequest appends to buf a direct get of subject's latest message without
// its headers.
func directGetRequest(buf []byte, subject string) []byte {
	buf = append(buf, `{"no_hdr":true,"last_by_subj":`...)
	for i := 0; i < len(subject); i++ {
		if c := subject[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			q, _ := json.Marshal(subject) // a string always encodes
			return append(append(buf, q...), '}')
		}
	}
	buf = append(append(append(buf, '"'), subject...), '"')
	return append(buf, '}')
}

// get returns the latest payload of each subject, by index in subjects: nil when it
// has none, empty for a deletion marker.
func (b *batcher) get(ctx context.Context, subjects []string) ([][]byte, error) {
	if err := b.subscribe(); err != nil {
		return nil, err
	}
	read := strconv.FormatUint(b.next.Add(1), 36)
	ch := make(chan *nats.Msg, len(subjects))
	b.mu.Lock()
	b.waiting[read] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiting, read)
		b.mu.Unlock()
	}()
	reply := make([]byte, 0, len(b.inbox)+len(read)+4)
	reply = append(append(reply, b.inbox...), read...)
	reply = append(reply, '.')
	var req []byte
	for i, subj := range subjects {
		req = directGetRequest(req[:0], subj)
		if err := b.nc.PublishRequest(b.subject, string(strconv.AppendInt(reply, int64(i), 10)), req); err != nil {
			return nil, err
		}
	}
	timer := time.NewTimer(batchTimeout)
	defer timer.Stop()
	out := make([][]byte, len(subjects))
	for range subjects {
		select {
		case m := <-ch:
			_, idx, _ := strings.Cut(m.Subject[len(b.inbox):], ".")
			i, err := strconv.Atoi(idx)
			if err != nil || i < 0 || i >= len(out) {
				return nil, fmt.Errorf("direct get: unexpected reply subject %q", m.Subject)
			}
			switch status := m.Header.Get("Status"); status {
			case "":
				out[i] = m.Data
				if out[i] == nil {
					out[i] = []byte{}
				}
			case "404":
			default:
				return nil, fmt.Errorf("direct get: status %s %s", status, m.Header.Get("Description"))
			}
		case <-timer.C:
			return nil, errors.New("direct get: no answer")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// readMany reads the tokens ids of a tenant at once and returns the live ones by id. An id missing from it (no record, deleted, expired,
// or not answered for) is to be read on its own, which says which it is.
func (s *Store) readMany(ctx context.Context, tenantID string, ids []string) (map[string]*Token, error) {
	if s.batch == nil {
		return nil, errors.New("tokens: the bucket does not answer batched reads")
	}
	bySubject := make(map[string]string, len(ids))
	subjects := make([]string, 0, len(ids))
	for _, id := range ids {
		if !validID(id) {
			continue
		}
		subj := kvSubject(recordKey(tenantID, id))
		if _, dup := bySubject[subj]; !dup {
			bySubject[subj] = id
			subjects = append(subjects, subj)
		}
	}
	found := make(map[string]*Token, len(subjects))
	if len(subjects) == 0 {
		return found, nil
	}
	values, err := s.batch.get(ctx, subjects)
	if err != nil {
		return nil, fmt.Errorf("tokens: batched read: %w", err)
	}
	for i, v := range values {
		if len(v) == 0 { // none, or a deletion marker
			continue
		}
		id := bySubject[subjects[i]]
		t, err := s.open(ctx, tenantID, id, v)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		default:
			found[id] = t
		}
	}
	return found, nil
}

// lookup is Get for resolving refs: one direct get of the record without its stored
// headers (see batcher), when the bucket answers those.
func (s *Store) lookup(ctx context.Context, tenantID, id string) (*Token, error) {
	if s.batch == nil || !validID(id) {
		return s.Get(ctx, tenantID, id)
	}
	values, err := s.batch.get(ctx, []string{kvSubject(recordKey(tenantID, id))})
	if err != nil {
		return s.Get(ctx, tenantID, id)
	}
	if len(values[0]) == 0 { // none, or a deletion marker
		return nil, ErrNotFound
	}
	return s.open(ctx, tenantID, id, values[0])
}

// BatchResolver is Resolver for a known set of refs: the tokens they name are read
// up front, all at once, and resolving answers from those reads.
// Every resolution still runs each allow on the token, as Resolver does; refs not
// named up front, and tokens the batch did not return, are read on their own. The
// reads belong to the returned resolver only: use one per request.
func (s *Store) BatchResolver(ctx context.Context, tenantID string, refs []expr.Ref, allow ...Allow) expr.Resolver {
	single := s.Resolver(tenantID, allow...)
	ids := make([]string, 0, len(refs))
	for _, r := range refs {
		if !r.Keyed {
			ids = append(ids, r.Name)
		}
	}
	if len(ids) < 2 {
		return single
	}
	found, err := s.readMany(ctx, tenantID, ids)
	if err != nil {
		return single
	}
	return func(ctx context.Context, r expr.Ref) (any, error) {
		if t, ok := found[r.Name]; ok && !r.Keyed {
			return resolved(t, r, allow)
		}
		return single(ctx, r)
	}
}
