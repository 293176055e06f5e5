import AVFoundation
import CoreImage
import SwiftUI
import UIKit

/// A silent camera. `AVCapturePhotoOutput` plays the system shutter sound, which a covert
/// inspection cannot have; this takes the newest frame of the video stream instead and writes
/// it as a JPEG to the app's temporary folder (never the photo library). The flash stays off.
struct CameraView: View {
    let done: (URL?) -> Void
    @StateObject private var camera = SilentCamera()

    var body: some View {
        ZStack(alignment: .bottom) {
            CameraPreview(session: camera.session).ignoresSafeArea()
            HStack(spacing: 40) {
                Button("Cancel") { done(nil) }
                Button("Photo") { camera.snapshot { url in DispatchQueue.main.async { done(url) } } }
                    .buttonStyle(.borderedProminent)
            }
            .padding(32)
        }
        .onAppear { camera.start() }
        .onDisappear { camera.stop() }
    }
}

final class SilentCamera: NSObject, ObservableObject, AVCaptureVideoDataOutputSampleBufferDelegate {
    let session = AVCaptureSession()
    private let output = AVCaptureVideoDataOutput()
    private let queue = DispatchQueue(label: "camera")
    private let context = CIContext()
    private var latest: CVPixelBuffer? // only touched on `queue`
    private var configured = false

    func start() {
        AVCaptureDevice.requestAccess(for: .video) { [self] granted in
            guard granted else { return }
            queue.async { [self] in
                if !configured { configure() }
                session.startRunning()
            }
        }
    }

    func stop() {
        queue.async { [self] in session.stopRunning() }
    }

    /// Writes the newest frame as a JPEG; `nil` when there is none yet or writing failed.
    func snapshot(_ done: @escaping (URL?) -> Void) {
        queue.async { [self] in
            guard let frame = latest else { return done(nil) }
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).jpg")
            do {
                try context.writeJPEGRepresentation(
                    of: CIImage(cvPixelBuffer: frame), to: url,
                    colorSpace: CGColorSpace(name: CGColorSpace.sRGB)!, options: [:]
                )
                done(url)
            } catch {
                done(nil)
            }
        }
    }

    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection) {
        latest = CMSampleBufferGetImageBuffer(sampleBuffer)
    }

    private func configure() {
        session.beginConfiguration()
        session.sessionPreset = .photo
        if let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back),
           let input = try? AVCaptureDeviceInput(device: device), session.canAddInput(input) {
            session.addInput(input)
        }
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(self, queue: queue)
        if session.canAddOutput(output) { session.addOutput(output) }
        if let connection = output.connection(with: .video) {
            if #available(iOS 17.0, *) {
                if connection.isVideoRotationAngleSupported(90) { connection.videoRotationAngle = 90 }
            } else if connection.isVideoOrientationSupported {
                connection.videoOrientation = .portrait
            }
        }
        session.commitConfiguration()
        configured = true
    }
}

private struct CameraPreview: UIViewRepresentable {
    let session: AVCaptureSession

    func makeUIView(context: Context) -> PreviewView {
        let view = PreviewView()
        view.previewLayer.session = session
        view.previewLayer.videoGravity = .resizeAspectFill
        return view
    }

    func updateUIView(_ view: PreviewView, context: Context) {}

    final class PreviewView: UIView {
        override class var layerClass: AnyClass { AVCaptureVideoPreviewLayer.self }
        var previewLayer: AVCaptureVideoPreviewLayer { layer as! AVCaptureVideoPreviewLayer }
    }
}
