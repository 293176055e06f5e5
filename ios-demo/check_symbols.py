#!/usr/bin/env python3
"""Checks that every binding symbol the iOS demo uses exists in the generated Swift.

Swift cannot be compiled here, so this reads both sides:

- the generated bindings (target/bindings/swift/Siteproof.swift): types, their members
  (methods with argument labels, properties, enum cases) and record initialisers;
- the demo's sources (ios-demo/SiteproofDemo/*.swift), with comments and string text removed
  (string interpolations are kept: they are code).

and then requires that

1. every call on the store (`store.name(label: ...)`) names a SiteproofStore method with
   exactly those argument labels;
2. every `BindingType.member` names a case or static member of that type;
3. every `BindingType(label: ...)` passes initialiser labels in order, none unknown, none
   required missing;
4. every `.member` anywhere is a member of some binding type, declared in the demo, or a
   known Apple/Swift API name (the allowlist below: review additions);
5. every capitalised type name is a binding type, a demo type, or a known Apple/Swift type.

`--self-test` also checks that misspelt symbols are caught. Exits non-zero on any problem.
"""

import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"

# Apple and Swift names the demo uses (members after a dot; type and C function names). Anything not here,
# not in the bindings and not declared in the demo is reported.
APPLE_MEMBERS = set("""
    absoluteURL accentColor addInput addOutput alwaysDiscardsLateVideoFrames allTasks
    allowsConstrainedNetworkAccess allowsExpensiveNetworkAccess append applicationSupportDirectory
    async back background base64EncodedString beginBackgroundTask beginConfiguration bordered
    borderedProminent borderless bottomBar buttonStyle caption cancel cancellationAction
    canAddInput canAddOutput characters close commitConfiguration completeUntilFirstUserAuthentication
    compactMap confirmationAction connection contains count createDirectory createFile current
    currentPath default disabled endBackgroundTask enter environmentObject expensive
    fetch flatMap font foregroundColor fullScreenCover getAllTasks gray green headline
    identifier ignoresSafeArea invalid isConstrained isDiscretionary isEmpty isExcludedFromBackup
    isExpensive isVideoOrientationSupported isVideoRotationAngleSupported joined keyboardType layer
    leave localizedDescription lock main map navigationBarLeading navigationDestination navigationTitle
    never onAppear onChange onDisappear onSubmit orange padding path photo pickerStyle portrait
    previewLayer primary primaryAction protectionKey read refreshable removeItem removeValue resizeAspectFill
    resume satisfied secondary seek segmented self sessionPreset sessionSendsLaunchEvents
    setResourceValues setSampleBufferDelegate setValue shared sheet sRGB start startRunning statusCode
    stopRunning subheadline tag task taskDescription temporaryDirectory textInputAutocapitalization
    tint trimmingCharacters unlock URL userDomainMask userInitiated utf8 uuidString value
    video videoGravity videoOrientation videoRotationAngle wait whitespaces write
    writeJPEGRepresentation red removeAll configuration background appendingPathComponent detached
    init httpMethod uploadTask bottom requestAccess builtInWideAngleCamera toolbar alert leading
    vertical baseAddress withUnsafeMutableBytes
    Port Host tcp badURL cannotConnectToHost newConnectionHandler signal global contentProcessed
    now success numbersAndPunctuation foregroundStyle secondaryAction
""".split())

APPLE_TYPES = set("""
    AVCaptureConnection AVCaptureDevice AVCaptureDeviceInput AVCaptureOutput AVCaptureSession
    AVCaptureVideoDataOutput AVCaptureVideoDataOutputSampleBufferDelegate AVCaptureVideoPreviewLayer
    AnyClass App Binding Bool Button CFDictionary CFTypeRef CGColorSpace CIContext CIImage CMSampleBuffer
    CVPixelBuffer Color Context Data DispatchGroup DispatchQueue Double Environment EnvironmentObject
    Error FileHandle FileManager FileProtectionType ForEach Form Group HStack HTTPURLResponse Int
    List NSLock NSObject NWPathMonitor NavigationLink NavigationStack ObservableObject ObservedObject
    OSStatus Optional Picker ProgressView Published Scene Section Set Spacer State StateObject String
    Task Text TextField Toggle ToolbarItem UIApplication UIApplicationDelegate
    UIApplicationDelegateAdaptor UIBackgroundTaskIdentifier UIDevice UIView UIViewRepresentable UInt64
    URL URLRequest URLResourceValues URLSession URLSessionConfiguration URLSessionTask
    URLSessionTaskDelegate UUID VStack View WindowGroup ZStack Void MainActor Identifiable Equatable
    Sendable Never Any CMSampleBufferGetImageBuffer SecItemCopyMatching SecRandomCopyBytes SecItemAdd
    NWConnection NWListener NWEndpoint URLError DispatchSemaphore TimeInterval UInt16
""".split())

SWIFT_KEYWORDS = set("""
    Self Type Protocol
""".split())


def strip_code(text):
    """Removes comments and string literal text, keeping string interpolations."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif text[i] == '"':
            i = skip_string(text, i + 1, out)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def skip_string(text, i, out):
    """Skips a string literal's text from just after its opening quote; copies interpolations."""
    out.append('""')
    while i < len(text):
        c = text[i]
        if c == "\\" and text.startswith("\\(", i):
            depth, j = 1, i + 2
            start = j
            while depth:
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                elif text[j] == '"':
                    # a string inside an interpolation
                    inner = []
                    j = skip_string(text, j + 1, inner) - 1
                j += 1
            out.append(" (" + strip_code(text[start:j - 1]) + ") ")
            i = j
        elif c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        else:
            i += 1
    return i


def split_args(text):
    """Splits a call's argument text at top-level commas."""
    parts, depth, cur = [], 0, []
    for c in text:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return parts


def call_args(code, open_paren):
    """The text between the parenthesis at `open_paren` and its match."""
    depth, j = 0, open_paren
    while j < len(code):
        if code[j] == "(":
            depth += 1
        elif code[j] == ")":
            depth -= 1
            if depth == 0:
                return code[open_paren + 1:j]
        j += 1
    return ""


def labels_of(args_text):
    out = []
    for arg in split_args(args_text):
        m = re.match(rf"\s*({IDENT})\s*:(?!:)", arg)
        out.append(m.group(1) if m else "_")
    return out


class Bindings:
    """What the generated Swift declares."""

    def __init__(self, text):
        self.types = {}       # name -> kind
        self.members = {}     # type -> set of member names
        self.methods = {}     # type -> {method: [labels]}
        self.inits = {}       # record -> [(label, has_default)]
        current, depth = None, 0
        lines = strip_code(text).splitlines()
        for k, line in enumerate(lines):
            at = depth
            depth += line.count("{") - line.count("}")
            if at == 0:
                top = re.match(rf"^(?:public |open )?(?:final )?(class|struct|enum|protocol|extension) ({IDENT})", line)
                current = None
                if top:
                    kind, name = top.groups()
                    current = name
                    if kind != "extension":
                        self.types.setdefault(name, kind)
                    self.members.setdefault(name, set())
                    self.methods.setdefault(name, {})
                continue
            if current is None or at != 1:
                continue
            m = re.match(rf"^\s*(?:public |open |required |convenience |override )*(?:static |class )?func `?({IDENT})`?\((.*)\)", line)
            if m:
                self.members[current].add(m.group(1))
                params = call_args(line, line.index("(", m.start(1)))
                self.methods[current].setdefault(m.group(1), labels_of(params))
                continue
            m = re.match(rf"^\s*(?:public |open |fileprivate |private )?(?:static )?(?:var|let) ({IDENT})", line)
            if m:
                self.members[current].add(m.group(1))
                continue
            m = re.match(rf"^\s*case ({IDENT})", line)
            if m and self.types.get(current) == "enum":
                self.members[current].add(m.group(1))
                continue
            if re.match(r"^\s*public init\(", line) and self.types.get(current) == "struct":
                block = []
                for follow in lines[k:]:
                    block.append(follow)
                    if re.search(r"\)\s*\{", follow):
                        break
                params = "\n".join(block)
                params = params[params.index("(") + 1:params.rindex(")")]
                self.inits[current] = [
                    (re.match(rf"\s*({IDENT})", p).group(1), "=" in p) for p in split_args(params)
                ]
        # A class's API is declared on its protocol (`XProtocol`) too.
        for name in list(self.types):
            proto = name + "Protocol"
            if proto in self.methods:
                self.methods[name] = {**self.methods[proto], **self.methods[name]}
                self.members[name] |= self.members[proto]
        self.all_members = set().union(*self.members.values())


def demo_declarations(code):
    names = set(re.findall(rf"\b(?:func|var|let|case|class|struct|enum|protocol|typealias)\s+({IDENT})", code))
    names |= set(re.findall(rf"\bcase\s+(?:let\s+)?\.?({IDENT})", code))
    # parameters and closure arguments: `name:` in declarations, `x in`
    names |= set(re.findall(rf"\b({IDENT})\s*:\s*[A-Z@(\[]", code))
    # generic parameters: `func io<T>(`
    names |= set(re.findall(rf"\bfunc\s+{IDENT}\s*<({IDENT})>", code))
    return names


def check(bindings, sources):
    problems = []
    code_by_file = {
        path.name: re.sub(r"(?m)^import .*$", "", strip_code(path.read_text(encoding="utf-8")))
        for path in sources
    }
    all_code = "\n".join(code_by_file.values())
    declared = demo_declarations(all_code)
    store_methods = bindings.methods.get("SiteproofStore", {})

    for name, code in code_by_file.items():
        where = lambda pos: f"{name}:{code.count(chr(10), 0, pos) + 1}"

        # 1. calls on the store
        for m in re.finditer(rf"\bstore\.({IDENT})\s*\(", code):
            method = m.group(1)
            if method not in store_methods:
                problems.append(f"{where(m.start())}: SiteproofStore has no method {method}")
                continue
            got = labels_of(call_args(code, m.end() - 1))
            if got != store_methods[method]:
                problems.append(f"{where(m.start())}: store.{method}({', '.join(got)}) but the binding takes ({', '.join(store_methods[method])})")

        # 2. BindingType.member
        for m in re.finditer(rf"\b({IDENT})\.({IDENT})", code):
            typ, member = m.groups()
            if typ in bindings.types and member not in bindings.members.get(typ, set()) | {"self"}:
                problems.append(f"{where(m.start())}: {typ} has no member {member}")

        # 3. record initialisers
        for m in re.finditer(rf"(?<![.\w])({IDENT})\s*\(", code):
            typ = m.group(1)
            if typ not in bindings.inits:
                continue
            expected = bindings.inits[typ]
            got = labels_of(call_args(code, m.end() - 1))
            names = [label for label, _ in expected]
            position = 0
            for label in got:
                if label not in names[position:]:
                    problems.append(f"{where(m.start())}: {typ}(... {label}: ...) is not an initialiser label in order ({', '.join(names)})")
                    break
                position = names.index(label, position) + 1
            missing = [label for label, has_default in expected if not has_default and label not in got]
            if missing:
                problems.append(f"{where(m.start())}: {typ}(...) lacks {', '.join(missing)}")

        # 4. every .member
        for m in re.finditer(rf"(?<![\w.])(?:[\w)\]?!]*)\.({IDENT})", code):
            member = m.group(1)
            if member in bindings.all_members or member in declared or member in APPLE_MEMBERS:
                continue
            problems.append(f"{where(m.start())}: .{member} is neither a binding member, declared in the demo, nor a known Apple API")

        # 5. type names
        for m in re.finditer(r"(?<![.\w])([A-Z][A-Za-z0-9_]*)\b", code):
            typ = m.group(1)
            if typ in bindings.types or typ in declared or typ in APPLE_TYPES or typ in SWIFT_KEYWORDS:
                continue
            problems.append(f"{where(m.start())}: type {typ} is neither a binding type, declared in the demo, nor a known Apple type")
    return sorted(set(problems))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bindings", default=str(ROOT / "target/bindings/swift/Siteproof.swift"))
    parser.add_argument("--sources", default=str(ROOT / "ios-demo/SiteproofDemo"))
    parser.add_argument("--self-test", action="store_true", help="also check that misspellings are caught")
    args = parser.parse_args()

    bindings = Bindings(pathlib.Path(args.bindings).read_text(encoding="utf-8"))
    sources = sorted(pathlib.Path(args.sources).glob("*.swift"))
    if not sources or "SiteproofStore" not in bindings.types:
        print("nothing to check: no demo sources or no SiteproofStore in the bindings", file=sys.stderr)
        return 1
    problems = check(bindings, sources)
    for p in problems:
        print(p)

    failed_self_test = []
    if args.self_test:
        import tempfile
        bad = {
            "store.listVisit()": "no method listVisit",
            "store.answerItem(visit: id, answer: input)": "but the binding takes",
            "VisitMode.secret": "has no member secret",
            "NewFinding(description: d, severity: s, media: [], fixedOnSpot: f, item: nil)": "not an initialiser label in order",
            "AnswerInput(note: nil)": "lacks value",
            "x.majorFinding": ".majorFinding is neither",
            "let t: TemplatSummary? = nil": "type TemplatSummary",
        }
        for snippet, expected in bad.items():
            with tempfile.TemporaryDirectory() as tmp:
                path = pathlib.Path(tmp) / "Bad.swift"
                path.write_text(f"func probe() {{\n    {snippet}\n}}\n", encoding="utf-8")
                found = check(bindings, [path])
                if not any(expected in p for p in found):
                    failed_self_test.append(f"self-test: {snippet!r} was not reported ({found})")
        for f in failed_self_test:
            print(f)

    uses = sum(len(re.findall(r"\bstore\.\w+\(", strip_code(s.read_text(encoding="utf-8")))) for s in sources)
    print(f"{len(sources)} demo files, {uses} store calls checked against {len(bindings.types)} binding types: "
          f"{len(problems) + len(failed_self_test)} problems")
    return 1 if problems or failed_self_test else 0


if __name__ == "__main__":
    sys.exit(main())
