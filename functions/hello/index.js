// The smallest node-bt reactor, from Basis Theory's Create Reactor example:
// configuration is read from req.configuration, the answer is { raw }.
module.exports = async function (req) {
  // Do something with req.configuration.SERVICE_API_KEY
  return {
    raw: {
      foo: 'bar',
    },
  };
};
