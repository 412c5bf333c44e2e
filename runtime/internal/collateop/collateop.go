// Package collateop implements the layer's `collate` host operation: Intl.Collator and
// String.prototype.localeCompare compare strings with golang.org/x/text/collate (CLDR
// collation), since FormatJS has no Collator.
package collateop

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

// Options are the resolved options of one Intl.Collator, as the layer sends them.
type Options struct {
	Locale            string
	Sensitivity       string // base, accent, case or variant
	Numeric           bool
	CaseFirst         string // upper, lower or false; x/text has no case-first ordering
	IgnorePunctuation bool
	Usage             string // sort or search; x/text has no search tailorings
}

// maxCached bounds the distinct option sets kept; beyond it collators are built per call.
const maxCached = 256

var (
	mu    sync.Mutex
	pools = map[Options]*sync.Pool{}
)

// Compare performs the `collate` op: arg is the JSON array [options, a, b] where
// options is [locale, sensitivity, numeric, caseFirst, ignorePunctuation, usage]; the
// result is "-1", "0" or "1".
func Compare(arg []byte) ([]byte, error) {
	var req [3]json.RawMessage
	if err := json.Unmarshal(arg, &req); err != nil {
		return nil, fmt.Errorf("collate: %w", err)
	}
	var key string
	var a, b string
	if err := errors.Join(json.Unmarshal(req[0], &key), json.Unmarshal(req[1], &a), json.Unmarshal(req[2], &b)); err != nil {
		return nil, fmt.Errorf("collate: %w", err)
	}
	var o Options
	fields := []any{&o.Locale, &o.Sensitivity, &o.Numeric, &o.CaseFirst, &o.IgnorePunctuation, &o.Usage}
	if err := json.Unmarshal([]byte(key), &fields); err != nil {
		return nil, fmt.Errorf("collate: options: %w", err)
	}
	switch CompareStrings(o, a, b) {
	case -1:
		return []byte("-1"), nil
	case 1:
		return []byte("1"), nil
	}
	return []byte("0"), nil
}

// CompareStrings compares a and b under o: -1, 0 or 1.
func CompareStrings(o Options, a, b string) int {
	p := pool(o)
	c := p.Get().(*collate.Collator) // a Collator keeps buffers: one goroutine at a time
	defer p.Put(c)
	return c.CompareString(a, b)
}

func pool(o Options) *sync.Pool {
	mu.Lock()
	defer mu.Unlock()
	if p, ok := pools[o]; ok {
		return p
	}
	p := &sync.Pool{New: func() any { return newCollator(o) }}
	if len(pools) < maxCached {
		pools[o] = p
	}
	return p
}

// newCollator maps ECMA-402's options onto CLDR's collation settings (UTS #35): the
// sensitivity is a strength (base = primary, accent = secondary, case = primary with
// the case level, variant = tertiary), ignorePunctuation is alternate=shifted.
func newCollator(o Options) *collate.Collator {
	tag, err := language.Parse(o.Locale)
	if err != nil {
		tag = language.AmericanEnglish
	}
	base, _ := tag.Base()
	region, _ := tag.Region()
	ext := []string{}
	if o.IgnorePunctuation {
		ext = append(ext, "ka-shifted")
	}
	switch o.Sensitivity {
	case "base":
		ext = append(ext, "ks-level1")
	case "accent":
		ext = append(ext, "ks-level2")
	case "case":
		ext = append(ext, "kc-true", "ks-level1")
	}
	if o.Numeric {
		ext = append(ext, "kn-true")
	}
	s := base.String()
	if region.IsCountry() {
		s += "-" + region.String()
	}
	if len(ext) > 0 {
		s += "-u-" + strings.Join(ext, "-")
	}
	t, err := language.Parse(s)
	if err != nil {
		t = tag
	}
	return collate.New(t, collate.OptionsFromTag(t))
}
