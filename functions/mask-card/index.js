// Masks a card number, keeping the last four digits: the benchmark reactor and the
// example `make run` invokes. node-bt ships maskdata, so nothing is declared.
const MaskData = require('maskdata');

module.exports = async function (req) {
  const { card_number } = req.args;
  if (typeof card_number !== 'string') {
    const { BadRequestError } = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
    throw new BadRequestError('card_number must be a string');
  }
  const masked = MaskData.maskCard(card_number, {
    maskWith: '*',
    unmaskedStartDigits: 0,
    unmaskedEndDigits: 4,
  });
  return { raw: { masked_card: masked } };
};
