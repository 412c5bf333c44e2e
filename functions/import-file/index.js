// "Import file from a partner" (Basis Theory's Reactors overview): desensitize a CSV
// before it reaches your systems. Basis Theory's example creates its own SDK client
// from a BT_API_KEY configuration value; here the client is req.bt, which the
// reactor's application (public or private, with token:create) grants.
module.exports = async function (req) {
  const { fileString } = req.args; // "name,ssn\nTheory,555445555"
  const rows = fileString.split('\n').map((r) => r.split(','));

  await Promise.all(
    rows.slice(1).map((row) =>
      req.bt.tokens
        .create({ type: 'social_security_number', data: row[1] })
        .then((token) => {
          row[1] = token.id;
        }),
    ),
  );

  const desensitizedFile = rows.map((row) => row.join(',')).join('\n');
  return { raw: desensitizedFile }; // "name,ssn\nTheory,14f5c8d4-..."
};
