// fsx: filesystem exerciser for the mount tests.
//
//   fsx run --seed S --ops N A B   the same random operations in directories A
//                                  and B; every result (errno, data read) and
//                                  the final trees must be identical
//   fsx compare A B                the two trees are identical (types, modes,
//                                  sizes, contents, symlink targets)
//   fsx save-atomic FILE           stdin -> FILE.tmp, fsync, rename over FILE
//   fsx save-truncate FILE         stdin -> FILE opened with O_TRUNC
//
// Exit status 0 when everything matched; the first difference is printed.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace {

struct Outcome {
  int err = 0;
  std::string data;
  bool operator==(const Outcome&) const = default;
};

int Errno(int rc) { return rc < 0 ? errno : 0; }

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

Outcome ReadFile(const std::string& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) return {errno, ""};
  Outcome o{0, ReadAll(fd)};
  ::close(fd);
  return o;
}

Outcome StatOf(const std::string& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return {errno, ""};
  std::string d = std::to_string(st.st_mode) + " " + (S_ISDIR(st.st_mode) ? "-" : std::to_string(st.st_size));
  return {0, d};
}

Outcome List(const std::string& p) {
  DIR* d = ::opendir(p.c_str());
  if (d == nullptr) return {errno, ""};
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += n + "/";
  return {0, out};
}

// One random operation, applied the same way under any root.
struct Op {
  enum Kind { kCreate, kWrite, kAppend, kTruncate, kRead, kRename, kUnlink, kMkdir, kRmdir, kSymlink, kChmod,
              kStat, kList, kRenameNoReplace };
  Kind kind;
  std::string a, b;
  int64_t offset = 0, size = 0;
  int mode = 0;
  bool excl = false;
  std::string bytes;

  std::string Describe() const {
    static const char* names[] = {"create", "write", "append", "truncate", "read", "rename", "unlink", "mkdir",
                                  "rmdir", "symlink", "chmod", "stat", "list", "rename-noreplace"};
    return std::string(names[kind]) + " " + a + (b.empty() ? "" : " " + b) +
           (kind == kWrite ? " @" + std::to_string(offset) + "+" + std::to_string(bytes.size()) : "") +
           (kind == kTruncate ? " to " + std::to_string(size) : "") +
           (kind == kChmod ? " " + std::to_string(mode) : "");
  }

  Outcome Apply(const std::string& root) const {
    std::string pa = root + "/" + a, pb = root + "/" + b;
    switch (kind) {
      case kCreate: {
        int fd = ::open(pa.c_str(), O_CREAT | O_WRONLY | (excl ? O_EXCL : 0), 0644);
        if (fd < 0) return {errno, ""};
        return {Errno(::close(fd)), ""};
      }
      case kWrite:
      case kAppend: {
        int fd = ::open(pa.c_str(), O_WRONLY | (kind == kAppend ? O_APPEND : 0));
        if (fd < 0) return {errno, ""};
        ssize_t n = kind == kAppend ? ::write(fd, bytes.data(), bytes.size())
                                    : ::pwrite(fd, bytes.data(), bytes.size(), offset);
        int e = n < 0 ? errno : 0;
        if (::close(fd) != 0 && e == 0) e = errno;
        return {e, std::to_string(n)};
      }
      case kTruncate:
        return {Errno(::truncate(pa.c_str(), size)), ""};
      case kRead:
        return ReadFile(pa);
      case kRename:
        return {Errno(::rename(pa.c_str(), pb.c_str())), ""};
      case kRenameNoReplace:
        return {Errno(::renameat2(AT_FDCWD, pa.c_str(), AT_FDCWD, pb.c_str(), RENAME_NOREPLACE)), ""};
      case kUnlink:
        return {Errno(::unlink(pa.c_str())), ""};
      case kMkdir:
        return {Errno(::mkdir(pa.c_str(), 0755)), ""};
      case kRmdir:
        return {Errno(::rmdir(pa.c_str())), ""};
      case kSymlink:
        return {Errno(::symlink(b.c_str(), pa.c_str())), ""};
      case kChmod:
        return {Errno(::chmod(pa.c_str(), static_cast<mode_t>(mode))), ""};
      case kStat:
        return StatOf(pa);
      case kList:
        return List(pa);
    }
    return {EINVAL, ""};
  }
};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  Op Next() {
    Op op;
    int r = Pick(100);
    op.kind = r < 12 ? Op::kCreate : r < 30 ? Op::kWrite : r < 35 ? Op::kAppend : r < 42 ? Op::kTruncate
            : r < 52 ? Op::kRead : r < 60 ? Op::kRename : r < 63 ? Op::kRenameNoReplace : r < 68 ? Op::kUnlink
            : r < 76 ? Op::kMkdir : r < 80 ? Op::kRmdir : r < 84 ? Op::kSymlink : r < 90 ? Op::kChmod
            : r < 95 ? Op::kStat : Op::kList;
    op.a = Path(op.kind == Op::kMkdir || op.kind == Op::kRmdir);
    if (op.kind == Op::kRename || op.kind == Op::kRenameNoReplace) op.b = Path(Pick(3) == 0);
    if (op.kind == Op::kSymlink) op.b = Name(false);  // relative, inside the tree
    if (op.kind == Op::kList) op.a = Dir();
    op.excl = Pick(2) == 0;
    op.offset = Pick(3) == 0 ? 0 : Pick(300000);
    op.size = Pick(4) == 0 ? 0 : Pick(300000);
    static const int modes[] = {0644, 0600, 0755, 0700, 0444, 0640};
    op.mode = modes[Pick(6)];
    if (op.kind == Op::kWrite || op.kind == Op::kAppend) {
      size_t n = 1 + Pick(Pick(4) == 0 ? 300000 : 5000);
      op.bytes.resize(n);
      for (auto& c : op.bytes) c = static_cast<char>(rng_());
    }
    return op;
  }

 private:
  int64_t Pick(int64_t n) { return static_cast<int64_t>(rng_() % static_cast<uint64_t>(n)); }
  std::string Dir() {
    static const char* dirs[] = {"", "d0", "d1", "d0/d2", "d1/d3", "d0/d2/d1"};
    return dirs[Pick(6)];
  }
  std::string Name(bool dir) {
    static const char* files[] = {"f0", "f1", "f2", "f3", "f4", "f5", "l0", "l1"};
    static const char* dirs[] = {"d0", "d1", "d2", "d3"};
    return dir ? dirs[Pick(4)] : files[Pick(8)];
  }
  std::string Path(bool dir) {
    std::string d = Dir();
    std::string n = Name(dir);
    return d.empty() ? n : d + "/" + n;
  }
  std::mt19937_64 rng_;
};

// First difference between two trees, or "" when identical.
std::string CompareTrees(const std::string& a, const std::string& b, const std::string& rel = "") {
  std::string pa = a + rel, pb = b + rel;
  struct stat sa, sb;
  int ea = ::lstat(pa.c_str(), &sa) ? errno : 0, eb = ::lstat(pb.c_str(), &sb) ? errno : 0;
  if (ea || eb) return ea == eb ? "" : rel + ": exists on one side only";
  if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) return rel + ": different types";
  if (!S_ISLNK(sa.st_mode) && (sa.st_mode & 07777) != (sb.st_mode & 07777)) {
    return rel + ": modes " + std::to_string(sa.st_mode & 07777) + " vs " + std::to_string(sb.st_mode & 07777);
  }
  if (S_ISLNK(sa.st_mode)) {
    char ta[4096], tb[4096];
    ssize_t na = ::readlink(pa.c_str(), ta, sizeof ta), nb = ::readlink(pb.c_str(), tb, sizeof tb);
    if (std::string(ta, std::max<ssize_t>(na, 0)) != std::string(tb, std::max<ssize_t>(nb, 0))) {
      return rel + ": symlink targets differ";
    }
    return "";
  }
  if (S_ISREG(sa.st_mode)) {
    if (sa.st_size != sb.st_size) {
      return rel + ": sizes " + std::to_string(sa.st_size) + " vs " + std::to_string(sb.st_size);
    }
    // Contents compared as root would read them, whatever the mode.
    if (ReadFile(pa) != ReadFile(pb)) return rel + ": contents differ";
    return "";
  }
  Outcome la = List(pa), lb = List(pb);
  if (la != lb) return rel + "/: entries differ: [" + la.data + "] vs [" + lb.data + "]";
  DIR* d = ::opendir(pa.c_str());
  if (d == nullptr) return rel + ": cannot list";
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string diff = CompareTrees(a, b, rel + "/" + n);
    if (!diff.empty()) return diff;
  }
  return "";
}

int Run(uint64_t seed, int ops, const std::string& a, const std::string& b) {
  Generator gen(seed);
  int failed = 0, succeeded = 0;
  for (int i = 0; i < ops; ++i) {
    Op op = gen.Next();
    Outcome oa = op.Apply(a), ob = op.Apply(b);
    if (!(oa == ob)) {
      std::cerr << "fsx: seed " << seed << " op " << i << " (" << op.Describe() << "): " << a << " gave errno "
                << oa.err << " (" << oa.data.size() << " bytes), " << b << " gave errno " << ob.err << " ("
                << ob.data.size() << " bytes)\n";
      return 1;
    }
    (oa.err ? failed : succeeded)++;
  }
  std::string diff = CompareTrees(a, b);
  if (!diff.empty()) {
    std::cerr << "fsx: seed " << seed << ": trees differ after " << ops << " ops: " << diff << "\n";
    return 1;
  }
  std::cout << "fsx: seed " << seed << ": " << ops << " ops identical (" << succeeded << " succeeded, " << failed
            << " failed alike)\n";
  return 0;
}

int Save(const std::string& file, bool atomic) {
  std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::string target = atomic ? file + ".tmp" : file;
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()) || ::fsync(fd) != 0 ||
      ::close(fd) != 0) {
    std::perror(("fsx: " + target).c_str());
    return 1;
  }
  if (atomic && ::rename(target.c_str(), file.c_str()) != 0) {
    std::perror("fsx: rename");
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 7 && args[0] == "run" && args[1] == "--seed" && args[3] == "--ops") {
    return Run(std::stoull(args[2]), std::stoi(args[4]), args[5], args[6]);
  }
  if (args.size() == 3 && args[0] == "compare") {
    std::string diff = CompareTrees(args[1], args[2]);
    if (diff.empty()) return 0;
    std::cerr << "fsx: trees differ: " << diff << "\n";
    return 1;
  }
  if (args.size() == 2 && (args[0] == "save-atomic" || args[0] == "save-truncate")) {
    return Save(args[1], args[0] == "save-atomic");
  }
  std::cerr << "usage: fsx run --seed S --ops N A B | compare A B | save-atomic FILE | save-truncate FILE\n";
  return 2;
}
