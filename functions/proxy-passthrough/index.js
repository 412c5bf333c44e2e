// Basis Theory's proxy transform template, usable as a request or a response
// transform: req.args holds the body and headers (and, for requests, method, path
// and query), req.configuration the proxy's configuration; the transform returns
// the body and headers to send on.
module.exports = async function (req) {
  const { body, headers } = req.args;
  const { SERVICE_API_KEY } = req.configuration;

  return {
    headers: { ...headers, Authorization: `Bearer ${SERVICE_API_KEY}` },
    body,
  };
};
