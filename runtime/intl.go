package runtime

import "github.com/reactord/reactord/images"

// intlData performs the layer's `intl-data` op: the CLDR data of a locale or the
// transitions of a time zone, which Intl fetches on first use (images.IntlData);
// undefined when there is none.
func intlData(arg []byte) ([]byte, error) {
	data, ok := images.IntlData(string(arg))
	if !ok {
		return nil, nil
	}
	return data, nil
}
