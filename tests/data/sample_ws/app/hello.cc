#include <cstdio>

#include "app/banner.h"
#include "lib/greet.h"

int main() {
  std::printf("%s: %s\n", BANNER, Greet("world").c_str());
  return 0;
}
