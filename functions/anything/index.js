// "Anything you can imagine" (Basis Theory's Reactors overview): a blank reactor
// returning both response types. tokenize is turned into tokens created by the
// caller; raw is returned as it is.
module.exports = async function (req) {
  const { tokens } = req.args;

  // Anything you can dream up

  return {
    tokenize: { foo: 'bar' }, // tokenize data
    raw: { foo: 'bar', received: tokens === undefined ? 0 : tokens.length }, // return any data
  };
};
