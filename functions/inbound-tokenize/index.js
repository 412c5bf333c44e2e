// Basis Theory's inbound proxy example: a request transform that tokenizes a field
// of the caller's body with req.bt (the proxy's application, which needs
// token:create) so the destination never receives the plaintext.
module.exports = async function (req) {
  const token = await req.bt.tokenize({
    type: 'token',
    data: req.args.body.sensitive_value,
  });

  req.args.body.sensitive_value = token.id;

  return {
    body: req.args.body,
    headers: req.args.headers,
  };
};
