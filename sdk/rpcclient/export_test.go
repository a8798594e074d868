package rpcclient

// FromStatus lets the black-box tests reach fromStatus.
var FromStatus = fromStatus
