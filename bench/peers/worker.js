// The card-masking reactor as a Cloudflare Worker: one isolate, reused for every request,
// no authentication (as Workers run). Answers POST /react like reactord's
// POST /reactors/{id}/react.
import peer from './function.js';

export default {
  async fetch(request) {
    const [status, body] = await peer.react(peer.fn, await request.text());
    return new Response(body, { status, headers: { 'content-type': 'application/json' } });
  },
};
