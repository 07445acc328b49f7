#include <cstdio>

#include "lib/greet.h"

int main() {
  if (Greet("farm") != "hello, farm") {
    std::puts("FAIL: unexpected greeting");
    return 1;
  }
  std::puts("PASS");
  return 0;
}
