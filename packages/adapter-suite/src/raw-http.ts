// The raw-socket client is @sec/test-kit's, shared with the adapters' own tests; this module
// stays so the cases can keep naming RawRequest from here.
export { sendRaw, type RawRequest, type RawResponse } from '@sec/test-kit/http'
