package csvconn

// ReadAhead lets the SDK read the next page while the host forwards the
// last one (sdk.ReadAheader):
// its pages are read from a local file: nothing the host meters.
func (c *Connector) ReadAhead() bool { return true }
