// Package tokens stores Basis Theory tokens: typed, validated sensitive values kept
// encrypted at rest in a JetStream key-value bucket, shown masked unless the caller
// may reveal them. It also detokenizes reactor args ({{ token-id }} expressions, see
// package expr) and turns a reactor result's tokenize block into tokens.
//
// Implemented from the seed: the types token, card, bank, card_number,
// us_bank_account_number, us_bank_routing_number, social_security_number and
// employer_id_number with their validation, default containers, masks and
// fingerprint expressions; custom masks, containers, metadata, id (a name or an
// expression over data), fingerprint_expression, deduplicate_token, expires_at,
// merge-patch updates, listing and Lucene-style search (see Search). Token data is
// searchable only through its search_indexes, stored as keyed hashes (blind
// indexes). Expired tokens read as not found and a sweeper deletes them.
package tokens

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	jsoniter "github.com/json-iterator/go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/expr"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/tokens/internal/base58"
)

// Bucket is the key-value bucket of tokens.
const Bucket = "reactord_tokens"

// MaxPerRequest is how many tokens one request may detokenize or tokenize (the seed's 100).
const MaxPerRequest = 100

// Errors callers map to API statuses.
var (
	ErrNotFound = errors.New("token not found")
	// ErrForbidden: the caller may not use the token (its access rules or
	// permissions do not cover the token's containers).
	ErrForbidden = errors.New("the caller may not use this token")
	ErrExists    = errors.New("a token with this id already exists")
)

// ValidationError lists what is wrong with a request, by field (the API's "errors").
type ValidationError struct {
	Fields map[string][]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + strings.Join(e.Fields[k], "; ")
	}
	return "invalid token: " + strings.Join(parts, ", ")
}

// CreateRequest is the body of POST /tokens (and of each tokenize entry).
type CreateRequest struct {
	ID                    string            `json:"id,omitempty"`
	Type                  string            `json:"type"`
	Data                  json.RawMessage   `json:"data"`
	Mask                  json.RawMessage   `json:"mask,omitempty"`
	Containers            []string          `json:"containers,omitempty"`
	Metadata              map[string]string `json:"metadata,omitempty"`
	SearchIndexes         []string          `json:"search_indexes,omitempty"`
	FingerprintExpression string            `json:"fingerprint_expression,omitempty"`
	DeduplicateToken      bool              `json:"deduplicate_token,omitempty"`
	ExpiresAt             string            `json:"expires_at,omitempty"`
	// TenantID and CreatedBy come from the caller, not the body.
	TenantID  string `json:"-"`
	CreatedBy string `json:"-"`
}

// ParseCreateRequest decodes a create request, reporting type mismatches by field.
func ParseCreateRequest(raw []byte) (CreateRequest, error) {
	var r CreateRequest
	if err := json.Unmarshal(raw, &r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return r, &ValidationError{Fields: map[string][]string{te.Field: {"must be of type " + jsonType(te.Type.Kind().String())}}}
		}
		return r, &ValidationError{Fields: map[string][]string{"body": {"must be a JSON object: " + err.Error()}}}
	}
	return r, nil
}

func jsonType(kind string) string {
	switch kind {
	case "map", "struct":
		return "object"
	case "slice":
		return "array"
	case "bool":
		return "boolean"
	}
	return kind
}

// Token is a token as the API shows it. Data is plaintext when read with Get and
// masked (or absent) after Masked.
type Token struct {
	ID                    string            `json:"id"`
	TenantID              string            `json:"tenant_id"`
	Type                  string            `json:"type"`
	Data                  json.RawMessage   `json:"data,omitempty"`
	Mask                  json.RawMessage   `json:"mask,omitempty"`
	Fingerprint           string            `json:"fingerprint,omitempty"`
	FingerprintExpression string            `json:"fingerprint_expression,omitempty"`
	Containers            []string          `json:"containers,omitempty"`
	Metadata              map[string]string `json:"metadata,omitempty"`
	SearchIndexes         []string          `json:"search_indexes,omitempty"`
	CreatedBy             string            `json:"created_by,omitempty"`
	CreatedAt             time.Time         `json:"created_at"`
	ModifiedBy            string            `json:"modified_by,omitempty"`
	ModifiedAt            *time.Time        `json:"modified_at,omitempty"`
	ExpiresAt             *time.Time        `json:"expires_at,omitempty"`

	// blind holds the keyed hashes of the evaluated search indexes.
	blind []string
}

// Masked returns a copy whose data is the mask applied to the plaintext, or no data
// when the token has no mask (the seed's "mask" transform).
func (t *Token) Masked(ctx context.Context) (*Token, error) {
	c := *t
	c.Data = nil
	if len(t.Mask) == 0 || string(t.Mask) == "null" {
		return &c, nil
	}
	data, err := decode(t.Data)
	if err != nil {
		return nil, err
	}
	c.Data, err = overData(ctx, t.Mask, data)
	return &c, err
}

// Redacted returns a copy without data (the seed's "redact" transform).
func (t *Token) Redacted() *Token {
	c := *t
	c.Data = nil
	return &c
}

// Store is the token bucket.
type Store struct {
	kv    jetstream.KeyValue
	key   *seal.Key
	fpKey []byte
	// searchKey keys the blind indexes; derived from fpKey so that a search index
	// hash never equals a fingerprint of the same value.
	searchKey []byte
	now       func() time.Time
	// ix is the search index, nil until Watch starts it.
	ix atomic.Pointer[index]
	// written is the latest revision this store wrote to a token record.
	written atomic.Uint64
	// batch reads many records in one request; nil when the bucket cannot.
	batch *batcher
}

// Open opens (or creates) the token bucket. Data is sealed with key, the same key
// that seals reactor configuration.
func Open(ctx context.Context, js jetstream.JetStream, key *seal.Key) (*Store, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("tokens: open %s: %w", Bucket, err)
	}
	s := &Store{kv: kv, key: key, now: func() time.Time { return time.Now().UTC() }}
	if s.fpKey, err = s.fingerprintKey(ctx); err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, s.fpKey)
	mac.Write([]byte("reactord search index v1"))
	s.searchKey = mac.Sum(nil)
	s.batch = newBatcher(ctx, js, kv)
	return s, nil
}

const fpKeyName = "fingerprint_key"

// fingerprintKey loads the deployment's secret fingerprint key, creating it once.
// Fingerprints are keyed hashes so that low-entropy data (card numbers) cannot be
// recovered from them by guessing.
func (s *Store) fingerprintKey(ctx context.Context) ([]byte, error) {
	aad := []byte(Bucket + "/" + fpKeyName)
	for range 3 {
		e, err := s.kv.Get(ctx, fpKeyName)
		if err == nil {
			k, err := s.key.Open(e.Value(), aad)
			if err != nil {
				return nil, fmt.Errorf("tokens: fingerprint key: %w", err)
			}
			return k, nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("tokens: fingerprint key: %w", err)
		}
		k := make([]byte, 32)
		rand.Read(k)
		if _, err := s.kv.Create(ctx, fpKeyName, s.key.Seal(k, aad)); err == nil {
			return k, nil
		} else if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, fmt.Errorf("tokens: fingerprint key: %w", err)
		}
	}
	return nil, errors.New("tokens: fingerprint key: could not create or read it")
}

// recordJSON decodes records on the read path, where decoding was the largest
// part of detokenizing a token after the read itself: json-iterator, configured to
// behave as encoding/json, decodes them about three times as fast.
var recordJSON = jsoniter.ConfigCompatibleWithStandardLibrary

// record is the at-rest form: the token without data, plus the sealed data.
type record struct {
	Token
	Sealed []byte   `json:"data_sealed"`
	Blind  []string `json:"blind_indexes,omitempty"`
}

func recordKey(tenantID, id string) string { return "t." + tenantID + "." + id }

func fingerprintIndex(tenantID, typ, fp string) string {
	return "fp." + tenantID + "." + typ + "." + fp
}

func aad(tenantID, id string) []byte { return []byte(tenantID + "/" + id) }

// prepare validates a request and builds the token it describes.
func (s *Store) prepare(ctx context.Context, r CreateRequest) (*Token, error) {
	errs := fieldErrors{}
	tt, ok := types[r.Type]
	switch {
	case r.Type == "":
		errs.add("type", "is required")
	case !ok:
		errs.add("type", "unknown token type %q; known types: %s", r.Type, knownTypes())
	}
	var data any
	if len(r.Data) == 0 || string(r.Data) == "null" {
		errs.add("data", "is required")
	} else {
		var err error
		if data, err = decode(r.Data); err != nil {
			errs.add("data", "is not valid JSON")
		} else if ok && tt.validate != nil {
			tt.validate(data, errs)
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}

	now := s.now()
	t := &Token{ID: r.ID, TenantID: r.TenantID, Type: r.Type, Data: compact(r.Data), Metadata: r.Metadata,
		CreatedBy: r.CreatedBy, CreatedAt: now, Containers: r.Containers, SearchIndexes: r.SearchIndexes,
		FingerprintExpression: r.FingerprintExpression}
	if t.Containers == nil {
		t.Containers = slices.Clone(tt.containers)
	}
	validContainers(t.Containers, errs)
	switch {
	case len(r.Mask) == 0:
		if tt.mask != "" {
			t.Mask = compact(json.RawMessage(tt.mask))
		}
	case string(r.Mask) != "null":
		t.Mask = compact(r.Mask)
		if _, err := overData(ctx, t.Mask, data); err != nil {
			errs.add("mask", "%v", err)
		}
	}
	if t.FingerprintExpression == "" {
		t.FingerprintExpression = tt.fingerprint
	}
	if t.SearchIndexes == nil {
		t.SearchIndexes = slices.Clone(tt.searchIndexes)
	}
	s.derive(ctx, t, data, errs)
	if strings.Contains(t.ID, "{{") {
		id, err := evalText(ctx, t.ID, data)
		if err != nil {
			errs.add("id", "%v", err)
		}
		t.ID = id
	}
	if t.ID == "" {
		t.ID = uuid.NewString()
	} else if !validID(t.ID) {
		errs.add("id", "must be 1 to 200 letters, digits, '-' or '_'")
	}
	if r.ExpiresAt != "" {
		at, err := parseTime(r.ExpiresAt)
		switch {
		case err != nil:
			errs.add("expires_at", "%v", err)
		case !at.After(now):
			errs.add("expires_at", "must be in the future")
		default:
			t.ExpiresAt = &at
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}
	return t, nil
}

// derive computes what follows from a token's data and expressions: its fingerprint
// and its blind indexes, adding what is wrong to errs.
func (s *Store) derive(ctx context.Context, t *Token, data any, errs fieldErrors) {
	// A fingerprint identifies the token's own data: an expression with no reference
	// to data would let a token claim another value's fingerprint (and so be handed
	// out by deduplication in its place).
	if tmpl, err := expr.ParseTemplate(t.FingerprintExpression); err == nil && len(tmpl.Exprs()) == 0 {
		errs.add("fingerprint_expression", "must refer to the token's data, as in {{ data }}")
	} else if fp, err := evalText(ctx, t.FingerprintExpression, data); err != nil {
		errs.add("fingerprint_expression", "%v", err)
	} else {
		mac := hmac.New(sha256.New, s.fpKey)
		mac.Write([]byte(t.TenantID + "\x00" + fp))
		t.Fingerprint = base58.Encode(mac.Sum(nil))
	}
	t.blind = nil
	for i, ix := range t.SearchIndexes {
		if v, err := evalText(ctx, ix, data); err != nil {
			errs.add(fmt.Sprintf("search_indexes[%d]", i), "%v", err)
		} else if v == "" || v == "null" {
			errs.add(fmt.Sprintf("search_indexes[%d]", i), "must not evaluate to an empty value")
		} else if h := s.blindIndex(t.TenantID, v); !slices.Contains(t.blind, h) {
			t.blind = append(t.blind, h)
		}
	}
}

// blindIndex is the keyed hash a search index value is stored and searched as; data
// searches are case-insensitive exact matches.
func (s *Store) blindIndex(tenantID, v string) string {
	mac := hmac.New(sha256.New, s.searchKey)
	mac.Write([]byte(tenantID + "\x00" + strings.ToLower(v)))
	return base58.Encode(mac.Sum(nil))
}

// Create validates and stores a new token and returns it with plaintext data. With
// DeduplicateToken, an existing live token of the same type, fingerprint, containers
// and data is returned instead.
func (s *Store) Create(ctx context.Context, r CreateRequest, allow ...Allow) (*Token, error) {
	t, err := s.prepare(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := allowed(t, allow); err != nil {
		return nil, err
	}
	if r.DeduplicateToken {
		if old := s.duplicate(ctx, t); old != nil {
			return old, nil
		}
	}
	return t, s.put(ctx, t)
}

// duplicate returns the live token t duplicates, or nil. Equal fingerprints are not
// enough: the stored data must equal t's, so that no expression can make
// deduplication hand out a token holding other data.
func (s *Store) duplicate(ctx context.Context, t *Token) *Token {
	e, err := s.kv.Get(ctx, fingerprintIndex(t.TenantID, t.Type, t.Fingerprint))
	if err != nil {
		return nil
	}
	old, err := s.Get(ctx, t.TenantID, string(e.Value()))
	if err != nil || old.Type != t.Type || old.Fingerprint != t.Fingerprint ||
		!slices.Equal(slices.Sorted(slices.Values(old.Containers)), slices.Sorted(slices.Values(t.Containers))) || !sameJSON(old.Data, t.Data) {
		return nil
	}
	return old
}

// sameJSON reports whether two JSON documents hold the same value (key order and
// whitespace aside; numbers compared as written).
func sameJSON(a, b []byte) bool {
	va, errA := decode(a)
	vb, errB := decode(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

func (s *Store) marshal(t *Token) ([]byte, error) {
	rec := record{Token: *t, Sealed: s.key.Seal(t.Data, aad(t.TenantID, t.ID)), Blind: t.blind}
	rec.Data = nil
	return json.Marshal(rec)
}

func (s *Store) put(ctx context.Context, t *Token) error {
	b, err := s.marshal(t)
	if err != nil {
		return err
	}
	rev, err := s.kv.Create(ctx, recordKey(t.TenantID, t.ID), b)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return ErrExists
		}
		return fmt.Errorf("tokens: create: %w", err)
	}
	s.wrote(rev)
	// The newest token with a fingerprint is the one deduplication returns.
	if _, err := s.kv.Put(ctx, fingerprintIndex(t.TenantID, t.Type, t.Fingerprint), []byte(t.ID)); err != nil {
		return fmt.Errorf("tokens: index fingerprint: %w", err)
	}
	return nil
}

// Get returns a token with its plaintext data, or ErrNotFound (also once expired).
func (s *Store) Get(ctx context.Context, tenantID, id string) (*Token, error) {
	t, _, err := s.read(ctx, tenantID, id)
	return t, err
}

// read is Get, also returning the record's revision.
func (s *Store) read(ctx context.Context, tenantID, id string) (*Token, uint64, error) {
	if !validID(id) {
		return nil, 0, ErrNotFound
	}
	e, err := s.kv.Get(ctx, recordKey(tenantID, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("tokens: get: %w", err)
	}
	t, err := s.open(ctx, tenantID, id, e.Value())
	if err != nil {
		return nil, 0, err
	}
	return t, e.Revision(), nil
}

// open decodes a stored record and unseals its data; an expired token is deleted and
// reads as ErrNotFound.
func (s *Store) open(ctx context.Context, tenantID, id string, value []byte) (*Token, error) {
	rec := new(record)
	if err := recordJSON.Unmarshal(value, rec); err != nil {
		return nil, fmt.Errorf("tokens: corrupt record %s: %w", id, err)
	}
	if rec.ExpiresAt != nil && !rec.ExpiresAt.After(s.now()) {
		s.Delete(ctx, tenantID, id) // best effort; it reads as gone either way
		return nil, ErrNotFound
	}
	t := &rec.Token // one allocation for the record and the token
	t.blind = rec.Blind
	var err error
	if t.Data, err = s.key.Open(rec.Sealed, aad(tenantID, id)); err != nil {
		return nil, fmt.Errorf("tokens: token %s: %w", id, err)
	}
	return t, nil
}

// Delete removes a token; a missing one is ErrNotFound.
func (s *Store) Delete(ctx context.Context, tenantID, id string) error {
	if !validID(id) {
		return ErrNotFound
	}
	k := recordKey(tenantID, id)
	e, err := s.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("tokens: delete: %w", err)
	}
	if err := s.kv.Delete(ctx, k); err != nil {
		return fmt.Errorf("tokens: delete: %w", err)
	}
	s.wrote(e.Revision() + 1) // the deletion's revision is later
	if rec, ok := decodeRecord(e); ok {
		s.dropFingerprint(ctx, rec)
	}
	s.dropAssociations(ctx, tenantID, id)
	return nil
}

// overData evaluates the expressions in a JSON document (a mask) over token data;
// they may refer to data only.
func overData(ctx context.Context, doc json.RawMessage, data any) (json.RawMessage, error) {
	return expr.EvalJSON(ctx, doc, dataResolver(data), 0)
}

// evalText evaluates a template over data to text (non-strings as JSON).
func evalText(ctx context.Context, tmpl string, data any) (string, error) {
	v, err := expr.EvalString(ctx, tmpl, dataResolver(data))
	if err != nil {
		return "", err
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func dataResolver(data any) expr.Resolver {
	return func(_ context.Context, r expr.Ref) (any, error) {
		if r.Name != "data" || r.Keyed {
			return nil, fmt.Errorf("only data can be referred to here, not %s", r)
		}
		return expr.Lookup(data, r.Path...), nil
	}
}

func decode(b []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// compact removes insignificant whitespace, keeping key order.
func compact(b json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// timeFormats are the accepted expires_at forms: ISO 8601 and the seed's examples
// ("8/26/2030 7:23:57 PM -07:00", "9/27/2030").
var timeFormats = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "1/2/2006 3:04:05 PM -07:00", "1/2/2006 3:04:05 PM", "1/2/2006"}

func parseTime(s string) (time.Time, error) {
	for _, f := range timeFormats {
		if t, err := time.Parse(f, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date-time", s)
}
