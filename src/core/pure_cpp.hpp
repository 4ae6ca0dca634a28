// Included last by every src/core source file: the core is pure C++ and is
// unit-tested and fuzzed without a server, so a PostgreSQL header that slipped
// in through another include fails the build here.
#pragma once

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers"
#endif
