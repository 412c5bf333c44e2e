package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

var cardArgs = []byte(`{"args":{"card_number":"4242424242424242"}}`)

// createMask creates a card-masking reactor with code (maskCode and a comment, so
// that each is a version of its own) and returns its react URL.
func (e env) createMask(b *testing.B, code string, warm int) string {
	_, rec := e.do(b, "POST", "/reactors", key, map[string]any{"name": "mask", "code": code,
		"configuration": map[string]string{"SERVICE_API_KEY": "k"}, "runtime": map[string]any{"image": "node-bt", "warm_concurrency": warm}})
	return e.url + "/reactors/" + rec["id"].(string) + "/react"
}

// react posts a card to url as the application with token:use and fails b on
// anything but 200.
func (e env) react(b *testing.B, url string) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(cardArgs))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("BT-API-KEY", e.useKey)
	resp, err := e.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("react: %d", resp.StatusCode)
	}
}

// BenchmarkReact is one POST /reactors/{id}/react of the card-masking reactor through
// the whole in-process service: HTTP, authentication, the invocation path, NATS, a
// warm instance and back. Run it with -cpu 2 and compare runs A/B on one machine.
func BenchmarkReact(b *testing.B) {
	e := start(b)
	url := e.createMask(b, maskCode, 1)
	e.react(b, url)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.react(b, url)
		}
	})
}

// BenchmarkFirstReact is the first POST /reactors/{id}/react of a reactor just created,
// through the whole in-process service, after the worker has had time to prepare its
// snapshot: the full-path cold start. Only the invocation is timed.
func BenchmarkFirstReact(b *testing.B) {
	e := start(b)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		url := e.createMask(b, fmt.Sprintf("%s\n// variant %d\n", maskCode, i), 0)
		time.Sleep(100 * time.Millisecond) // as benchreport: the worker prepares the snapshot and a spare instance
		b.StartTimer()
		e.react(b, url)
	}
}
