// Swagger UI over this API's own document; no validator badge (it would call swagger.io) and no remote URLs.
window.addEventListener('load', () => {
  SwaggerUIBundle({
    url: '/openapi.yaml',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    tryItOutEnabled: false,
  });
});
