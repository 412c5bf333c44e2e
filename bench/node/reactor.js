// The card-masking reactor (node-bt contract), identical in behaviour to
// functions/mask-card/index.js minus its input check: the Node.js baseline for `make bench`.
const MaskData = require('maskdata');
module.exports = async function (req) {
  const masked = MaskData.maskCard(req.args.card_number, { maskWith: '*', unmaskedStartDigits: 0, unmaskedEndDigits: 4 });
  return { raw: { masked_card: masked } };
};
