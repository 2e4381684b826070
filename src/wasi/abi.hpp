// Constants and layouts of wasi_snapshot_preview1 (the witx of WASI preview 1), and the
// mapping from host errno values.
#pragma once

#include <cerrno>
#include <cstdint>

namespace edgecar::wasi {

using Errno = uint16_t;

namespace err {
constexpr Errno kSuccess = 0, k2big = 1, kAcces = 2, kAddrinuse = 3, kAddrnotavail = 4,
                kAfnosupport = 5, kAgain = 6, kAlready = 7, kBadf = 8, kBadmsg = 9, kBusy = 10,
                kCanceled = 11, kChild = 12, kConnaborted = 13, kConnrefused = 14, kConnreset = 15,
                kDeadlk = 16, kDestaddrreq = 17, kDom = 18, kDquot = 19, kExist = 20, kFault = 21,
                kFbig = 22, kHostunreach = 23, kIdrm = 24, kIlseq = 25, kInprogress = 26,
                kIntr = 27, kInval = 28, kIo = 29, kIsconn = 30, kIsdir = 31, kLoop = 32,
                kMfile = 33, kMlink = 34, kMsgsize = 35, kMultihop = 36, kNametoolong = 37,
                kNetdown = 38, kNetreset = 39, kNetunreach = 40, kNfile = 41, kNobufs = 42,
                kNodev = 43, kNoent = 44, kNoexec = 45, kNolck = 46, kNolink = 47, kNomem = 48,
                kNomsg = 49, kNoprotoopt = 50, kNospc = 51, kNosys = 52, kNotconn = 53,
                kNotdir = 54, kNotempty = 55, kNotrecoverable = 56, kNotsock = 57, kNotsup = 58,
                kNotty = 59, kNxio = 60, kOverflow = 61, kOwnerdead = 62, kPerm = 63, kPipe = 64,
                kProto = 65, kProtonosupport = 66, kPrototype = 67, kRange = 68, kRofs = 69,
                kSpipe = 70, kSrch = 71, kStale = 72, kTimedout = 73, kTxtbsy = 74, kXdev = 75,
                kNotcapable = 76;
}  // namespace err

// Host errno -> WASI errno. RESOLVE_BENEATH refusals (EXDEV) become notcapable.
inline Errno from_host_errno(int e) {
  switch (e) {
    case 0:
      return err::kSuccess;
    case E2BIG:
      return err::k2big;
    case EACCES:
      return err::kAcces;
    case EADDRINUSE:
      return err::kAddrinuse;
    case EADDRNOTAVAIL:
      return err::kAddrnotavail;
    case EAFNOSUPPORT:
      return err::kAfnosupport;
    case EAGAIN:
      return err::kAgain;
    case EALREADY:
      return err::kAlready;
    case EBADF:
      return err::kBadf;
    case EBADMSG:
      return err::kBadmsg;
    case EBUSY:
      return err::kBusy;
    case ECANCELED:
      return err::kCanceled;
    case ECHILD:
      return err::kChild;
    case ECONNABORTED:
      return err::kConnaborted;
    case ECONNREFUSED:
      return err::kConnrefused;
    case ECONNRESET:
      return err::kConnreset;
    case EDEADLK:
      return err::kDeadlk;
    case EDESTADDRREQ:
      return err::kDestaddrreq;
    case EDOM:
      return err::kDom;
    case EDQUOT:
      return err::kDquot;
    case EEXIST:
      return err::kExist;
    case EFAULT:
      return err::kFault;
    case EFBIG:
      return err::kFbig;
    case EHOSTUNREACH:
      return err::kHostunreach;
    case EIDRM:
      return err::kIdrm;
    case EILSEQ:
      return err::kIlseq;
    case EINPROGRESS:
      return err::kInprogress;
    case EINTR:
      return err::kIntr;
    case EINVAL:
      return err::kInval;
    case EIO:
      return err::kIo;
    case EISCONN:
      return err::kIsconn;
    case EISDIR:
      return err::kIsdir;
    case ELOOP:
      return err::kLoop;
    case EMFILE:
      return err::kMfile;
    case EMLINK:
      return err::kMlink;
    case EMSGSIZE:
      return err::kMsgsize;
    case EMULTIHOP:
      return err::kMultihop;
    case ENAMETOOLONG:
      return err::kNametoolong;
    case ENETDOWN:
      return err::kNetdown;
    case ENETRESET:
      return err::kNetreset;
    case ENETUNREACH:
      return err::kNetunreach;
    case ENFILE:
      return err::kNfile;
    case ENOBUFS:
      return err::kNobufs;
    case ENODEV:
      return err::kNodev;
    case ENOENT:
      return err::kNoent;
    case ENOEXEC:
      return err::kNoexec;
    case ENOLCK:
      return err::kNolck;
    case ENOLINK:
      return err::kNolink;
    case ENOMEM:
      return err::kNomem;
    case ENOMSG:
      return err::kNomsg;
    case ENOPROTOOPT:
      return err::kNoprotoopt;
    case ENOSPC:
      return err::kNospc;
    case ENOSYS:
      return err::kNosys;
    case ENOTCONN:
      return err::kNotconn;
    case ENOTDIR:
      return err::kNotdir;
    case ENOTEMPTY:
      return err::kNotempty;
    case ENOTRECOVERABLE:
      return err::kNotrecoverable;
    case ENOTSOCK:
      return err::kNotsock;
    case EOPNOTSUPP:
      return err::kNotsup;
    case ENOTTY:
      return err::kNotty;
    case ENXIO:
      return err::kNxio;
    case EOVERFLOW:
      return err::kOverflow;
    case EOWNERDEAD:
      return err::kOwnerdead;
    case EPERM:
      return err::kPerm;
    case EPIPE:
      return err::kPipe;
    case EPROTO:
      return err::kProto;
    case EPROTONOSUPPORT:
      return err::kProtonosupport;
    case EPROTOTYPE:
      return err::kPrototype;
    case ERANGE:
      return err::kRange;
    case EROFS:
      return err::kRofs;
    case ESPIPE:
      return err::kSpipe;
    case ESRCH:
      return err::kSrch;
    case ESTALE:
      return err::kStale;
    case ETIMEDOUT:
      return err::kTimedout;
    case ETXTBSY:
      return err::kTxtbsy;
    case EXDEV:
      return err::kNotcapable;  // openat2 RESOLVE_BENEATH: outside the preopen
    default:
      return err::kIo;
  }
}

enum class Filetype : uint8_t {
  Unknown = 0,
  BlockDevice = 1,
  CharacterDevice = 2,
  Directory = 3,
  RegularFile = 4,
  SocketDgram = 5,
  SocketStream = 6,
  SymbolicLink = 7,
};

namespace rights {
constexpr uint64_t kFdDatasync = 1ull << 0, kFdRead = 1ull << 1, kFdSeek = 1ull << 2,
                   kFdFdstatSetFlags = 1ull << 3, kFdSync = 1ull << 4, kFdTell = 1ull << 5,
                   kFdWrite = 1ull << 6, kFdAdvise = 1ull << 7, kFdAllocate = 1ull << 8,
                   kPathCreateDirectory = 1ull << 9, kPathCreateFile = 1ull << 10,
                   kPathLinkSource = 1ull << 11, kPathLinkTarget = 1ull << 12,
                   kPathOpen = 1ull << 13, kFdReaddir = 1ull << 14, kPathReadlink = 1ull << 15,
                   kPathRenameSource = 1ull << 16, kPathRenameTarget = 1ull << 17,
                   kPathFilestatGet = 1ull << 18, kPathFilestatSetSize = 1ull << 19,
                   kPathFilestatSetTimes = 1ull << 20, kFdFilestatGet = 1ull << 21,
                   kFdFilestatSetSize = 1ull << 22, kFdFilestatSetTimes = 1ull << 23,
                   kPathSymlink = 1ull << 24, kPathRemoveDirectory = 1ull << 25,
                   kPathUnlinkFile = 1ull << 26, kPollFdReadwrite = 1ull << 27,
                   kSockShutdown = 1ull << 28, kSockAccept = 1ull << 29;
constexpr uint64_t kAll = (1ull << 30) - 1;
// What a regular file may do, and what a directory may do to itself.
constexpr uint64_t kFile = kFdDatasync | kFdRead | kFdSeek | kFdFdstatSetFlags | kFdSync | kFdTell |
                           kFdWrite | kFdAdvise | kFdAllocate | kFdFilestatGet |
                           kFdFilestatSetSize | kFdFilestatSetTimes | kPollFdReadwrite;
constexpr uint64_t kDir =
    kFdFdstatSetFlags | kFdSync | kFdDatasync | kPathCreateDirectory | kPathCreateFile |
    kPathLinkSource | kPathLinkTarget | kPathOpen | kFdReaddir | kPathReadlink | kPathRenameSource |
    kPathRenameTarget | kPathFilestatGet | kPathFilestatSetSize | kPathFilestatSetTimes |
    kFdFilestatGet | kFdFilestatSetTimes | kPathSymlink | kPathRemoveDirectory | kPathUnlinkFile;
}  // namespace rights

namespace fdflags {
constexpr uint16_t kAppend = 1, kDsync = 2, kNonblock = 4, kRsync = 8, kSync = 16;
}
namespace oflags {
constexpr uint16_t kCreat = 1, kDirectory = 2, kExcl = 4, kTrunc = 8;
}
namespace fstflags {
constexpr uint16_t kAtim = 1, kAtimNow = 2, kMtim = 4, kMtimNow = 8;
}
constexpr uint32_t kLookupSymlinkFollow = 1;

}  // namespace edgecar::wasi
