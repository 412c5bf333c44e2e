'use strict';
// @basis-theory/basis-theory-reactor-formulas-sdk-js: the error classes reactors throw to
// choose their response. Each takes a message, or an errors object ({field: ["msg"]}),
// or an array of messages; `status` selects the HTTP status and `errors` the field errors
// the host puts in the response. CustomHttpResponseError({status, headers, body}) sets
// the whole response.

const customBrand = new WeakSet();

const FALLBACK = 'Something went wrong. Please try again. If the problem persists, please contact support@basistheory.com';

function stringifyItem(e) {
  if (e !== null && typeof e === 'object') return JSON.stringify(e);
  return e === undefined || e === null ? FALLBACK : String(e);
}

// sanitizeErrors turns whatever was passed into {field: [messages]}.
function sanitizeErrors(errors) {
  const out = {};
  if (Array.isArray(errors)) {
    out.error = errors.map(stringifyItem);
  } else if (errors !== null && typeof errors === 'object') {
    for (const property of Object.keys(errors)) {
      const v = errors[property];
      if (Array.isArray(v)) out[property] = v.map(stringifyItem);
      else if (v !== null && typeof v === 'object') out[property] = [JSON.stringify(v)];
      else if (v) out[property] = [String(v)];
      else out[property] = [FALLBACK];
    }
  } else if (typeof errors === 'string') {
    out.error = [errors];
  } else if (errors) {
    out.error = [String(errors)];
  } else {
    out.error = [FALLBACK];
  }
  return out;
}

class BasisTheoryReactorError extends Error {
  constructor(arg, status = 500, defaultMessage = 'Reactor Runtime Error') {
    let message = defaultMessage;
    let errors;
    let data;
    if (typeof arg === 'string') {
      message = arg;
      errors = sanitizeErrors(arg);
    } else if (arg instanceof Error) {
      message = arg.message || defaultMessage;
      errors = sanitizeErrors(message);
      data = arg;
    } else if (arg !== undefined && arg !== null) {
      errors = sanitizeErrors(arg);
      data = arg;
    }
    super(message);
    this.name = new.target.name;
    this.status = status;
    if (errors !== undefined) this.errors = errors;
    if (data !== undefined) Object.defineProperty(this, 'data', { value: data, writable: true, configurable: true, enumerable: false });
  }
  toRFC7807() {
    return { detail: this.message, status: this.status, errors: this.errors };
  }
}

class AuthenticationError extends BasisTheoryReactorError {
  constructor(arg) {
    super(arg, 401, 'Authentication Failed');
  }
}

class AuthorizationError extends BasisTheoryReactorError {
  constructor(arg) {
    super(arg, 403, 'Authorization Failed');
  }
}

class BadRequestError extends BasisTheoryReactorError {
  constructor(arg) {
    super(arg, 400, 'Bad Request');
  }
}

class InvalidPaymentMethodError extends BasisTheoryReactorError {
  constructor(arg) {
    super(arg, 402, 'Invalid Payment Method');
  }
}

class InvalidReactorConfigurationError extends BasisTheoryReactorError {
  constructor(arg) {
    super(arg, 422, 'Invalid Reactor Configuration');
  }
}

class RateLimitError extends BasisTheoryReactorError {
  constructor(arg) {
    super(arg, 429, 'Rate Limit Exceeded');
  }
}

class ReactorRuntimeError extends BasisTheoryReactorError {
  constructor(arg) {
    super(arg, 500, 'Reactor Runtime Error');
    // like the SDK: an error with a numeric status keeps it
    if (arg !== null && typeof arg === 'object' && typeof arg.status === 'number' && !Number.isNaN(arg.status)) this.status = arg.status;
  }
}

class ServiceUnavailableError extends BasisTheoryReactorError {
  constructor(arg) {
    super(arg, 503, 'Service Unavailable');
  }
}

class CustomHttpResponseError extends Error {
  constructor({ status, headers, body } = {}) {
    super();
    this.name = 'CustomHttpResponseError';
    const parsedStatus = Number.parseInt(status);
    if (parsedStatus !== status || parsedStatus < 100 || parsedStatus > 599) throw new Error('status is not a valid integer');
    this.status = parsedStatus;
    this.headers = headers === undefined || headers === null ? {} : headers;
    this.body = body === undefined || body === null ? {} : body;
    customBrand.add(this);
  }
  toResponseBody() {
    return { status: this.status, headers: this.headers, body: this.body };
  }
}

class CustomHttpResponse {
  constructor({ status, headers, body } = {}) {
    this.status = status;
    this.headers = headers === undefined || headers === null ? {} : headers;
    this.body = body === undefined || body === null ? {} : body;
  }
}

module.exports = {
  sdk: {
    BasisTheoryReactorError,
    AuthenticationError,
    AuthorizationError,
    BadRequestError,
    CustomHttpResponse,
    CustomHttpResponseError,
    InvalidPaymentMethodError,
    InvalidReactorConfigurationError,
    RateLimitError,
    ReactorRuntimeError,
    ServiceUnavailableError,
  },
  isCustomHttpResponseError: (e) => customBrand.has(e),
};
