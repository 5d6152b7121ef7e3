file(READ ${IN} content)
file(WRITE ${OUT} "static constexpr const char kOpenApiJson[] = R\"OPENAPI(${content})OPENAPI\";\n")
