package api_test

import (
	"testing"
)

// TestSandboxTokensAPI: reactor code's bt client (basis-theory-js) tokenizes, lists,
// updates and searches tokens through the gateway with its application's rights.
func TestSandboxTokensAPI(t *testing.T) {
	e := start(t)
	resp, app := e.do(t, "POST", "/applications", key, map[string]any{"name": "reactor app", "type": "private",
		"permissions": []string{"token:create", "token:read", "token:update", "token:search"}})
	if resp.StatusCode != 201 {
		t.Fatalf("application: %d %v", resp.StatusCode, app)
	}
	code := `module.exports = async (req) => {
  const bt = req.bt;
  const run = req.args.run;
  const out = await bt.tokenize({ name: { type: 'token', data: 'Jane Doe', search_indexes: ['{{ data }}'], metadata: { run } },
                                  ssn: { type: 'social_security_number', data: '123-45-6789', metadata: { run } } });
  const list = await bt.tokens.list({ metadata: { run } });
  const updated = await bt.tokens.update(out.name.id, { metadata: { run, state: 'updated' } });
  const found = await bt.tokens.search({ query: 'data:6789 AND metadata.run:' + run });
  const byName = await bt.tokens.search({ query: 'data:"jane doe"' });
  return { raw: {
    listed: list.data.length, total: list.pagination.totalItems,
    updated: updated.metadata.state, ssnFound: found.data.map((t) => t.id).join() === out.ssn.id,
    nameFound: byName.data.some((t) => t.id === out.name.id), ssnMasked: found.data[0].data,
  } };
};`
	_, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": "bt tokens", "code": code, "application": map[string]string{"id": app["id"].(string)}})
	resp, out := e.do(t, "POST", "/reactors/"+rec["id"].(string)+"/react", e.useKey, map[string]any{"args": map[string]string{"run": "r1"}})
	raw, _ := out["raw"].(map[string]any)
	if resp.StatusCode != 200 || raw["listed"] != 2.0 || raw["total"] != 2.0 || raw["updated"] != "updated" ||
		raw["ssnFound"] != true || raw["nameFound"] != true || raw["ssnMasked"] != "XXX-XX-6789" {
		t.Fatalf("bt tokens calls: %d %v", resp.StatusCode, out)
	}
}
