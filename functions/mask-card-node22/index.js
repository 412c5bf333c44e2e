// Basis Theory's node22 Create Reactor example: npm dependencies come from
// reactor.json (or runtime.dependencies), the event carries req and configuration,
// and the answer is an HTTP response { res: { statusCode, headers, body } }.
module.exports = async function (event) {
  const MaskData = require('maskdata');
  const { card_number } = event.req;
  const { SERVICE_API_KEY } = event.configuration;
  const masked_card = MaskData.maskCard(card_number, {
    maskWith: '*',
    unmaskedStartDigits: 0,
    unmaskedEndDigits: 4,
  });
  return {
    res: {
      body: {
        success: true,
        masked_card: masked_card,
        configured: Boolean(SERVICE_API_KEY),
      },
      statusCode: 200,
    },
  };
};
