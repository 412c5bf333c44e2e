package images_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/reactord/reactord/images"
)

func TestIntlData(t *testing.T) {
	for _, tc := range []struct {
		key   string
		ok    bool
		check func(string) bool
	}{
		{"script", true, func(s string) bool { return strings.Contains(s, "reactord") && len(s) > 100_000 }},
		{"de/NumberFormat", true, func(s string) bool {
			var d struct{ Locale string }
			return json.Unmarshal([]byte(s), &d) == nil && d.Locale == "de"
		}},
		{"ja/DateTimeFormat", true, func(s string) bool { return json.Valid([]byte(s)) }},
		{"tz/Europe/Berlin", true, func(s string) bool { return strings.HasPrefix(s, "Europe/Berlin|") }},
		{"tz/America/New_York", true, func(s string) bool { return strings.HasPrefix(s, "America/New_York|") }},
		{"en/NumberFormat", false, nil}, // en is in the script
		{"sv/NumberFormat", false, nil}, // not shipped
		{"tz/Mars/Olympus", false, nil},
		{"", false, nil},
	} {
		t.Run(tc.key, func(t *testing.T) {
			data, ok := images.IntlData(tc.key)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && !tc.check(string(data)) {
				t.Errorf("unexpected data: %.200s", data)
			}
		})
	}
}
