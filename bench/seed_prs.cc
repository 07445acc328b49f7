// Adds N pull requests straight to a farm's metadata store, for benchmarks
// that need many (the REST PR list): submitting them for real would spend
// the run on validations. Usage: seed_prs METADATA_DB N
#include <cstdlib>
#include <iostream>

#include "common/clock.h"
#include "metadata/sqlite_metadata_store.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: seed_prs METADATA_DB N\n";
    return 2;
  }
  auto store = cifs::SqliteMetadataStore::Open(argv[1]);
  if (!store.ok()) {
    std::cerr << "seed_prs: " << store.status().message() << "\n";
    return 1;
  }
  int n = std::atoi(argv[2]);
  const char* states[] = {"open", "approved", "merged", "rejected"};
  for (int i = 0; i < n; ++i) {
    cifs::v1::PullRequest pr;
    pr.set_title("Benchmark change " + std::to_string(i) + ": tidy the greeting and its tests");
    pr.set_author(i % 3 ? "alice" : "bob");
    pr.set_workspace("ws-" + std::to_string(i % 20));
    pr.set_repo("sample");
    pr.set_target_branch(i % 5 ? "main" : "release");
    pr.set_state(states[i % 4]);
    pr.set_created_ms(cifs::NowMs());
    pr.set_updated_ms(cifs::NowMs());
    auto* rev = pr.add_revisions();
    rev->set_number(1);
    rev->set_head_commit(std::string(40, 'a'));
    rev->set_created_ms(cifs::NowMs());
    rev->mutable_validation()->set_state("passed");
    rev->mutable_validation()->set_target_tip(std::string(40, 'b'));
    rev->mutable_validation()->set_merge_commit(std::string(40, 'c'));
    if (auto s = (*store)->InsertPullRequest(&pr); !s.ok()) {
      std::cerr << "seed_prs: " << s.message() << "\n";
      return 1;
    }
  }
  std::cout << "seeded " << n << " pull requests\n";
  return 0;
}
