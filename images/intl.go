package images

import (
	_ "embed"
	"encoding/json"
	"sync"
)

// intlJSON is the CLDR and time-zone data the layers' Intl fetches on first use
// (src/intl): one JSON object of key -> text, written by genlayer.
//
//go:embed dist/intl.json
var intlJSON []byte

// intlScript is the Intl script (src/intl/script.js bundled), which the layers evaluate
// the first time a reactor needs Intl.
//
//go:embed dist/intl.js
var intlScript []byte

var (
	intlOnce sync.Once
	intlData map[string]string
	intlErr  error
)

// IntlData returns what the layers' Intl asks the host for by key: the Intl script
// ("script"), a locale's data for one constructor ("de/NumberFormat", JSON text) or a
// time zone's transitions ("tz/Europe/Berlin", FormatJS's packed form). ok is false for
// an unknown key.
func IntlData(key string) (data []byte, ok bool) {
	if key == "script" {
		return intlScript, true
	}
	intlOnce.Do(func() { intlErr = json.Unmarshal(intlJSON, &intlData) })
	if intlErr != nil {
		return nil, false
	}
	s, ok := intlData[key]
	if !ok {
		return nil, false
	}
	return []byte(s), true
}
