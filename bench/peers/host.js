'use strict';
// What the peers do around the reactor, the same work reactord's node-bt contract does:
// parse the react body, call the function with {args, configuration}, and answer
// {"tokens": null, "raw": ...} or a thrown error in the API's error format.

const statuses = {
  400: ['Bad Request', 'bad_request'],
  401: ['Authentication Error', 'authentication_error'],
  402: ['Invalid Payment Method', 'invalid_payment_method'],
  403: ['Authorization Error', 'authorization_error'],
  422: ['Unprocessable Entity', 'unprocessable_entity'],
  429: ['Rate Limit Error', 'rate_limit_error'],
  500: ['Reactor Runtime Error', 'reactor_runtime_error'],
  503: ['Service Unavailable', 'service_unavailable'],
};

function errorBody(status, detail, errors) {
  const [title, type] = statuses[status] || statuses[500];
  return JSON.stringify({ errors: errors || { error: [detail] }, type, title, status: statuses[status] ? status : 500, detail });
}

// react answers one POST /react body (a string) with [status, JSON body].
async function react(fn, text) {
  let body;
  try {
    body = JSON.parse(text || '{}');
  } catch (e) {
    return [400, errorBody(400, 'the request body is not JSON')];
  }
  try {
    const result = await fn({ args: body.args, configuration: {} });
    return [200, JSON.stringify({ tokens: null, raw: result === undefined || result === null || result.raw === undefined ? null : result.raw })];
  } catch (e) {
    const status = e && typeof e.status === 'number' && statuses[e.status] ? e.status : 500;
    return [status, errorBody(status, String((e && e.message) || e), status !== 500 && e ? e.errors : undefined)];
  }
}

module.exports = { react };
