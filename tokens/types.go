package tokens

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// tokenType is one token type of the seed's "Token Types" table.
type tokenType struct {
	containers  []string
	fingerprint string
	mask        string // JSON; empty means none (data redacted when masked)
	validate    func(data any, errs fieldErrors)
	// searchIndexes apply when a request gives none.
	searchIndexes []string
}

// defaultSearchIndexes are the search indexes Basis Theory applies to social security
// and employer id numbers created without any.
var defaultSearchIndexes = []string{"{{ data }}", "{{ data | remove: '-' }}", "{{ data | last4 }}"}

const revealLast4 = `"{{ data | reveal_last: 4 }}"`

var types = map[string]tokenType{
	"token": {containers: []string{"/general/high/"}, fingerprint: "{{ data | stringify }}"},
	"card": {containers: []string{"/pci/high/"}, fingerprint: "{{ data.number }}",
		mask:     `{"number": "{{ data.number | reveal_last: 4 }}", "expiration_month": "{{ data.expiration_month }}", "expiration_year": "{{ data.expiration_year }}"}`,
		validate: validateCard},
	"bank": {containers: []string{"/bank/high/"}, fingerprint: "{{ data.account_number }}|{{ data.routing_number }}",
		mask:     `{"routing_number": "{{ data.routing_number }}", "account_number": "{{ data.account_number | reveal_last: 4 }}"}`,
		validate: validateBank},
	"card_number": {containers: []string{"/pci/high/"}, fingerprint: "{{ data }}", mask: revealLast4,
		validate: func(d any, e fieldErrors) { cardNumber(d, "data", e) }},
	"us_bank_account_number": {containers: []string{"/bank/high/"}, fingerprint: "{{ data }}", mask: revealLast4,
		validate: func(d any, e fieldErrors) { accountNumber(d, "data", e) }},
	"us_bank_routing_number": {containers: []string{"/bank/low/"}, fingerprint: "{{ data }}", mask: revealLast4,
		validate: func(d any, e fieldErrors) { routingNumber(d, "data", e) }},
	"social_security_number": {containers: []string{"/pii/high/"}, fingerprint: "{{ data | remove: '-' }}", mask: revealLast4, searchIndexes: defaultSearchIndexes,
		validate: func(d any, e fieldErrors) { delimited(d, ssnRE, "123-45-6789", e) }},
	"employer_id_number": {containers: []string{"/pii/high/"}, fingerprint: "{{ data | remove: '-' }}", mask: revealLast4, searchIndexes: defaultSearchIndexes,
		validate: func(d any, e fieldErrors) { delimited(d, einRE, "12-3456789", e) }},
}

// Types returns the supported token type names, sorted.
func Types() []string {
	out := make([]string, 0, len(types))
	for name := range types {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// fieldErrors collects validation messages by field.
type fieldErrors map[string][]string

func (e fieldErrors) add(field, format string, a ...any) {
	e[field] = append(e[field], fmt.Sprintf(format, a...))
}

var (
	digitsRE    = regexp.MustCompile(`^[0-9]+$`)
	ssnRE       = regexp.MustCompile(`^([0-9]{9}|[0-9]{3}-[0-9]{2}-[0-9]{4})$`)
	einRE       = regexp.MustCompile(`^([0-9]{9}|[0-9]{2}-[0-9]{7})$`)
	containerRE = regexp.MustCompile(`^/([A-Za-z0-9_-]+/)+$`)
)

// validID reports whether id is a token id: 1 to 200 letters, digits, '-' or '_'.
// It runs for every token read, where a regular expression cost more than the rest
// of resolving the id's subject.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 200 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func str(d any, field string, e fieldErrors) (string, bool) {
	s, ok := d.(string)
	if !ok {
		e.add(field, "must be a string")
	}
	return s, ok
}

func cardNumber(d any, field string, e fieldErrors) {
	s, ok := str(d, field, e)
	switch {
	case !ok:
	case !digitsRE.MatchString(s):
		e.add(field, "must contain only digits")
	case len(s) < 13 || len(s) > 19:
		e.add(field, "must be 13 to 19 digits long")
	case !luhn(s):
		e.add(field, "is not a valid card number (Luhn check failed)")
	}
}

func accountNumber(d any, field string, e fieldErrors) {
	s, ok := str(d, field, e)
	switch {
	case !ok:
	case !digitsRE.MatchString(s):
		e.add(field, "must contain only digits")
	case len(s) < 3 || len(s) > 17:
		e.add(field, "must be 3 to 17 digits long")
	}
}

func routingNumber(d any, field string, e fieldErrors) {
	s, ok := str(d, field, e)
	switch {
	case !ok:
	case !digitsRE.MatchString(s) || len(s) != 9:
		e.add(field, "must be 9 digits")
	case !aba(s):
		e.add(field, "is not a valid ABA routing number (checksum failed)")
	}
}

func delimited(d any, re *regexp.Regexp, example string, e fieldErrors) {
	if s, ok := str(d, "data", e); ok && !re.MatchString(s) {
		e.add("data", "must be 9 digits, optionally delimited like %s", example)
	}
}

func object(d any, e fieldErrors) (map[string]any, bool) {
	m, ok := d.(map[string]any)
	if !ok {
		e.add("data", "must be an object")
	}
	return m, ok
}

func validateCard(d any, e fieldErrors) {
	m, ok := object(d, e)
	if !ok {
		return
	}
	if n, ok := m["number"]; !ok || n == nil {
		e.add("data.number", "is required")
	} else {
		cardNumber(n, "data.number", e)
	}
	if v, ok := m["expiration_month"]; ok && v != nil {
		if n, ok := integer(v); !ok || n < 1 || n > 12 {
			e.add("data.expiration_month", "must be an integer from 1 to 12")
		}
	}
	if v, ok := m["expiration_year"]; ok && v != nil {
		if n, ok := integer(v); !ok || n < 1000 || n > 9999 {
			e.add("data.expiration_year", "must be a four-digit integer")
		}
	}
	if v, ok := m["cvc"]; ok && v != nil {
		if s, ok := str(v, "data.cvc", e); ok && (!digitsRE.MatchString(s) || len(s) < 3 || len(s) > 4) {
			e.add("data.cvc", "must be 3 or 4 digits")
		}
	}
}

func validateBank(d any, e fieldErrors) {
	m, ok := object(d, e)
	if !ok {
		return
	}
	if v, ok := m["routing_number"]; !ok || v == nil {
		e.add("data.routing_number", "is required")
	} else {
		routingNumber(v, "data.routing_number", e)
	}
	if v, ok := m["account_number"]; !ok || v == nil {
		e.add("data.account_number", "is required")
	} else {
		accountNumber(v, "data.account_number", e)
	}
}

func integer(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func luhn(s string) bool {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// aba checks an ABA routing number: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 mod 10.
func aba(s string) bool {
	w := [3]int{3, 7, 1}
	sum := 0
	for i := range 9 {
		sum += w[i%3] * int(s[i]-'0')
	}
	return sum%10 == 0
}

func validContainers(cs []string, e fieldErrors) {
	if len(cs) == 0 {
		e.add("containers", "must not be empty")
	}
	for _, c := range cs {
		if !containerRE.MatchString(c) {
			e.add("containers", "%q is not a container path like /pci/high/", c)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(cs)))) != len(cs) {
		e.add("containers", "must not repeat a container")
	}
}

func knownTypes() string { return strings.Join(Types(), ", ") }
